// bench/requestLog.ts: how the logging proxy classifies registry requests and finds duplicate uploads. No Docker, no
// registry: request logs written here, in the forms the distribution API uses.
import { strict as assert } from "assert";
import { LoggedRequest, requestKind, uploadSummary } from "../../bench/requestLog";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

function req(o: Partial<LoggedRequest> & Pick<LoggedRequest, "kind">): LoggedRequest {
    return { method: "GET", status: 200, sentBytes: 0, receivedBytes: 0, client: "buildkit", ...o };
}

describe("requestLog", () => {
    describe("requestKind (the distribution API's routes)", () => {
        it("tells blob reads, uploads and manifests apart, with their digests", () => {
            assert.deepEqual(requestKind("HEAD", `/v2/app/blobs/${D1}`), { kind: "blob HEAD", digest: D1 });
            assert.deepEqual(requestKind("GET", `/v2/team/app/blobs/${D1}`), { kind: "blob GET", digest: D1 });
            assert.deepEqual(requestKind("POST", "/v2/app/blobs/uploads/"), {
                kind: "upload start",
                digest: undefined,
            });
            assert.deepEqual(requestKind("POST", `/v2/app/blobs/uploads/?mount=${D1}&from=base`), {
                kind: "upload start",
                digest: D1,
            });
            assert.deepEqual(requestKind("PATCH", "/v2/app/blobs/uploads/3f2a-11?_state=x"), { kind: "upload data" });
            assert.deepEqual(
                requestKind("PUT", `/v2/app/blobs/uploads/3f2a-11?_state=x&digest=${encodeURIComponent(D2)}`),
                {
                    kind: "upload end",
                    digest: D2,
                },
            );
            assert.deepEqual(requestKind("HEAD", "/v2/app/manifests/buildcache"), {
                kind: "manifest HEAD",
                digest: undefined,
            });
            assert.deepEqual(requestKind("GET", `/v2/app/manifests/${D1}`), { kind: "manifest GET", digest: D1 });
            assert.deepEqual(requestKind("PUT", "/v2/app/manifests/latest"), {
                kind: "manifest PUT",
                digest: undefined,
            });
            assert.deepEqual(requestKind("GET", "/v2/"), { kind: "other" });
        });
    });

    describe("uploadSummary", () => {
        it("counts a digest uploaded twice in one build once as a duplicate, with the second upload's bytes", () => {
            const s = uploadSummary([
                req({ kind: "blob HEAD", method: "HEAD", digest: D1, status: 404 }),
                req({ kind: "blob HEAD", method: "HEAD", digest: D1, status: 404 }),
                req({ kind: "upload end", method: "PUT", digest: D1, status: 201, sentBytes: 4000 }),
                req({ kind: "upload end", method: "PUT", digest: D1, status: 201, sentBytes: 4000 }),
                req({ kind: "blob HEAD", method: "HEAD", digest: D2, status: 200 }),
            ]);
            assert.equal(s.blobsUploaded, 1);
            assert.equal(s.duplicateUploads, 1);
            assert.equal(s.duplicateBytes, 4000);
            assert.equal(s.headsFound, 1);
            assert.equal(s.headsMissing, 2);
        });

        it("takes a dockerd upload's bytes from its PATCH (an empty PUT ends it), and ignores failed uploads", () => {
            const s = uploadSummary([
                req({ kind: "upload data", method: "PATCH", client: "docker", sentBytes: 700 }),
                req({ kind: "upload end", method: "PUT", client: "docker", digest: D2, status: 201 }),
                req({ kind: "upload data", method: "PATCH", client: "docker", sentBytes: 700 }),
                req({ kind: "upload end", method: "PUT", client: "docker", digest: D2, status: 201 }),
                req({ kind: "upload end", method: "PUT", client: "docker", digest: D2, status: 400 }),
            ]);
            assert.equal(s.duplicateUploads, 1);
            assert.equal(s.duplicateBytes, 700);
        });
    });
});
