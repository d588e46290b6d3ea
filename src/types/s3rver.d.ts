// The part of s3rver's API Packhouse uses (the package ships no type declarations).
declare module 's3rver' {
  interface S3rverOptions {
    port?: number;
    address?: string;
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string; configs?: string[] }[];
    vhostBuckets?: boolean;
    serviceEndpoint?: string;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number; family?: string }>;
    /** The request handler, for serving from a server of one's own. */
    callback(): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
    store: object;
    context: { store: object };
    logger: { close(): void; exceptions: { unhandle(): void } };
    close(): Promise<void>;
    /** Creates its HTTP server and listens; with a callback, returns that server at once. */
    listen(port: number, address: string, callback: () => void): import('node:http').Server;
    /** The server close() stops (set by run()). */
    httpServer?: import('node:http').Server;
  }
}

// s3rver's file store and error type, which the built-in S3 store extends (src/storage/sinks/builtin-s3-store.ts).
declare module 's3rver/lib/stores/filesystem.js' {
  import type { Readable } from 'node:stream';
  export interface StoredObject {
    bucket: string;
    key: string;
    content: Readable | Buffer;
    metadata: Record<string, string>;
  }
  export default class FilesystemStore {
    constructor(rootDirectory: string);
    rootDirectory: string;
    getBucketPath(bucket: string): string;
    getBucket(bucket: string): Promise<unknown>;
    putBucket(bucket: string): Promise<unknown>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata?: Record<string, string>): Promise<Record<string, unknown>>;
    initiateUpload(bucket: string, key: string, uploadId: string, metadata: Record<string, string>): Promise<void>;
    putPart(bucket: string, uploadId: string, partNumber: string | number, content: Readable): Promise<{ size: number; md5: string }>;
    putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag?: string }[]): Promise<{ size: number; md5: string }>;
    getSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<unknown>;
    putSubresource(bucket: string, key: string | undefined, resource: { type: string; toXML(indent: number): string }): Promise<void>;
  }
}

declare module 's3rver/lib/models/error.js' {
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string>);
    readonly code: string;
    readonly status: number;
  }
}

declare module 's3rver/lib/models/object.js' {
  import type { Readable } from 'node:stream';
  export default class S3Object {
    constructor(bucket: string, key: string, content: Readable | Buffer | null, metadata: Record<string, unknown>);
    bucket: string;
    key: string;
    content: Readable | Buffer | null;
    metadata: Record<string, string>;
  }
}
