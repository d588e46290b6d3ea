/**
 * One S3 client configuration for every S3-compatible store Packhouse talks to (harvest output,
 * live segments): path-style addressing when an endpoint is given, the AWS default credential
 * chain unless keys are configured, three attempts per request.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3Connection {
  readonly endpoint?: string | undefined;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

export function s3ClientFor(o: S3Connection): S3Client {
  const config: S3ClientConfig = { region: o.region, maxAttempts: 3 };
  if (o.endpoint) {
    config.endpoint = o.endpoint;
    config.forcePathStyle = true;
  }
  if (o.credentials) config.credentials = { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey };
  return new S3Client(config);
}
