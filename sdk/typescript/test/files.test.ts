// Files through the SDK: uploads with progress, downloads and thumbnails,
// removal, and refusals.

import assert from "node:assert/strict";
import { test } from "node:test";
import { NotFoundError, PayloadTooLargeError, PermissionDeniedError, ValidationError } from "../src/index.js";
import { admin, base, fresh, png, pngSize, signedUp } from "./helpers.js";

type Gym = { name: string; photos?: string[] };

test("upload with progress, download, thumbnail, remove", async () => {
  const gw = await admin();
  const gyms = gw.resource<Gym>("gym");
  const gym = await gyms.create({ name: fresh("photo gym") });
  const big = png(700, 600, true); // about 1.2 MB: the body goes out in many chunks
  const small = png(300, 200);
  const progress: [number, number][] = [];
  const doc = await gyms.upload(gym._id, "photos", [new Blob([big as BlobPart]), { name: "small.png", data: small }], {
    onProgress: (sent, total) => progress.push([sent, total]),
  });
  assert.equal(doc.photos?.length, 2);
  assert.ok(progress.length > 3, `progress was reported ${progress.length} times`);
  const total = progress[0][1];
  assert.ok(total > big.length + small.length);
  assert.ok(progress.every(([sent], i) => i === 0 || sent >= progress[i - 1][0]), "progress only grows");
  assert.deepEqual(progress.at(-1), [total, total]);

  const [bigName, smallName] = doc.photos!;
  assert.match(bigName, /^[0-9a-f]{32}\.png$/);
  const got = new Uint8Array(await (await gyms.file(gym._id, bigName)).arrayBuffer());
  assert.deepEqual(got, big, "the bytes come back as they went");
  const thumb = new Uint8Array(await (await gyms.file(gym._id, smallName, { thumb: "100x100" })).arrayBuffer());
  const size = pngSize(thumb);
  assert.ok(size.width <= 100 && size.height <= 100 && size.width === 100, `thumbnail ${size.width}x${size.height}`);
  assert.equal(gyms.fileUrl(gym._id, smallName, { thumb: "100x100" }), `${base}/api/files/gym/${gym._id}/${smallName}?thumb=100x100`);

  const after = await gyms.removeFile(gym._id, "photos", bigName);
  assert.deepEqual(after.photos, [smallName]);
  await assert.rejects(gyms.file(gym._id, bigName), NotFoundError);
});

test("refusals: the type, the size, the right", async () => {
  const gw = await admin();
  const gyms = gw.resource<Gym>("gym");
  const gym = await gyms.create({ name: fresh("refusing gym") });
  await assert.rejects(gyms.upload(gym._id, "photos", { name: "page.png", data: new TextEncoder().encode("<html><script>alert(1)</script>") }), ValidationError);
  await assert.rejects(gyms.upload(gym._id, "photos", new Blob([png(1200, 1000, true) as BlobPart])), PayloadTooLargeError);
  const { gw: user } = await signedUp();
  await assert.rejects(user.resource<Gym>("gym").upload(gym._id, "photos", new Blob([png(10, 10) as BlobPart])), PermissionDeniedError);
});

test("an aborted upload stops and stores nothing", async () => {
  const gw = await admin();
  const gyms = gw.resource<Gym>("gym");
  const gym = await gyms.create({ name: fresh("aborted gym") });
  const abort = new AbortController();
  const upload = gyms.upload(gym._id, "photos", new Blob([png(700, 600, true) as BlobPart]), {
    signal: abort.signal,
    onProgress: (sent) => { if (sent > 100_000) abort.abort(); },
  });
  await assert.rejects(upload, (err: Error) => err.name === "AbortError");
  assert.equal((await gyms.get(gym._id)).photos, undefined);
});
