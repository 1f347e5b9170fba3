// AWS SDK for JavaScript v3 with its defaults (flexible checksums WHEN_SUPPORTED) against wormgate.
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, CreateMultipartUploadCommand,
  UploadPartCommand, CompleteMultipartUploadCommand, GetObjectAttributesCommand, ListObjectsV2Command,
  HeadObjectCommand, DeleteObjectCommand } from "@aws-sdk/client-s3";
const c = new S3Client({ endpoint: process.env.S3_ENDPOINT, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: process.env.S3_ACCESS_KEY, secretAccessKey: process.env.S3_SECRET_KEY } });
const B = "js-sdk-" + Date.now();
const ok = (m) => console.log("ok  ", m);
await c.send(new CreateBucketCommand({ Bucket: B, ObjectLockEnabledForBucket: true })); ok("CreateBucket");
const put = await c.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "hello from js" }));
ok(`PutObject (default checksum) crc32=${put.ChecksumCRC32} crc64=${put.ChecksumCRC64NVME}`);
const g = await c.send(new GetObjectCommand({ Bucket: B, Key: "k", ChecksumMode: "ENABLED" }));
const body = await g.Body.transformToString(); if (body !== "hello from js") throw new Error("body " + body);
ok("GetObject with response checksum validation");
const big = Buffer.alloc(5 * 1024 * 1024, 7);
const up = await c.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "mp", ChecksumAlgorithm: "CRC32", ChecksumType: "FULL_OBJECT" }));
const parts = [];
for (const [n, b] of [[1, big], [2, Buffer.from("tail")]]) {
  const r = await c.send(new UploadPartCommand({ Bucket: B, Key: "mp", UploadId: up.UploadId, PartNumber: n, Body: b, ChecksumAlgorithm: "CRC32" }));
  parts.push({ PartNumber: n, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
}
const done = await c.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: "mp", UploadId: up.UploadId, MultipartUpload: { Parts: parts } }));
ok(`multipart FULL_OBJECT CRC32 complete: ${done.ChecksumCRC32} ${done.ChecksumType}`);
const again = await c.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: "mp", UploadId: up.UploadId, MultipartUpload: { Parts: parts } }));
if (again.VersionId !== done.VersionId) throw new Error("replay gave another version");
ok("repeated Complete replays the same version");
const a = await c.send(new GetObjectAttributesCommand({ Bucket: B, Key: "mp", ObjectAttributes: ["ETag", "Checksum", "ObjectParts", "ObjectSize", "StorageClass"] }));
ok(`GetObjectAttributes size=${a.ObjectSize} parts=${a.ObjectParts?.TotalPartsCount} crc32=${a.Checksum?.ChecksumCRC32}`);
const l = await c.send(new ListObjectsV2Command({ Bucket: B })); ok(`ListObjectsV2 ${l.KeyCount} keys`);
await c.send(new HeadObjectCommand({ Bucket: B, Key: "mp" })); ok("HeadObject");
await c.send(new DeleteObjectCommand({ Bucket: B, Key: "k" })); ok("DeleteObject (marker)");
try { await c.send(new PutObjectCommand({ Bucket: B, Key: "k2", Body: "x", WriteOffsetBytes: 0 })); throw new Error("append accepted"); }
catch (e) { if (e.name !== "NotImplemented") throw e; ok("PutObject WriteOffsetBytes refused: " + e.name); }
