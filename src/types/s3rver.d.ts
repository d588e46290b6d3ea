// The part of s3rver's API Packhouse uses (the package ships no type declarations).
declare module 's3rver' {
  interface S3rverOptions {
    port?: number;
    address?: string;
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string; configs?: string[] }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number; family?: string }>;
    close(): Promise<void>;
    /** Creates its HTTP server and listens; with a callback, returns that server at once. */
    listen(port: number, address: string, callback: () => void): import('node:http').Server;
    /** The server close() stops (set by run()). */
    httpServer?: import('node:http').Server;
  }
}
