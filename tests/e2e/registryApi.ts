// A small client for the local registry's HTTP API (Docker Registry HTTP API V2), for the end-to-end
// tests to check what a build did or didn't push. It talks to the registry itself (`upstream`), not to
// the byte-counting proxy the builds use, so these checks never show up in a build's byte counts.
import type { LocalRegistry } from "../../standIn/host";

/** Every manifest type a build here can push: OCI and Docker, single image and index. */
export const MANIFEST_ACCEPT = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface Manifest {
    digest: string;
    mediaType: string;
    json: {
        mediaType?: string;
        config?: { mediaType: string; digest: string; size: number };
        layers?: Array<{ mediaType: string; digest: string; size: number }>;
        manifests?: Array<{ mediaType: string; digest: string }>;
    };
}

export class RegistryApi {
    private readonly auth: string;

    constructor(private readonly registry: LocalRegistry) {
        this.auth = "Basic " + Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
    }

    async request(method: string, path: string): Promise<Response> {
        return fetch(`http://${this.registry.upstream}${path}`, {
            method,
            headers: { authorization: this.auth, accept: MANIFEST_ACCEPT },
        });
    }

    /** `GET /v2/<repo>/tags/list`, sorted; [] when the repository doesn't exist (nothing was ever pushed). */
    async tags(repo: string): Promise<string[]> {
        const r = await this.request("GET", `/v2/${repo}/tags/list`);
        if (r.status === 404) return [];
        if (r.status !== 200) throw new Error(`tags/list ${repo}: HTTP ${r.status} ${await r.text()}`);
        const body = (await r.json()) as { tags: string[] | null };
        return [...(body.tags ?? [])].sort();
    }

    /** The manifest a tag points to (digest from `Docker-Content-Digest`), or undefined on 404. */
    async manifest(repo: string, ref: string): Promise<Manifest | undefined> {
        const r = await this.request("GET", `/v2/${repo}/manifests/${ref}`);
        if (r.status === 404) return undefined;
        const text = await r.text();
        if (r.status !== 200) throw new Error(`manifest ${repo}:${ref}: HTTP ${r.status} ${text}`);
        return {
            digest: r.headers.get("docker-content-digest") ?? "",
            mediaType: r.headers.get("content-type") ?? "",
            json: JSON.parse(text),
        };
    }

    /** Digest per tag, for before/after comparisons. */
    async digests(repo: string): Promise<Record<string, string>> {
        const out: Record<string, string> = {};
        for (const tag of await this.tags(repo)) out[tag] = (await this.manifest(repo, tag))?.digest ?? "(gone)";
        return out;
    }

    /** HTTP status of `HEAD /v2/<repo>/blobs/<digest>`. */
    async blobStatus(repo: string, digest: string): Promise<number> {
        return (await this.request("HEAD", `/v2/${repo}/blobs/${digest}`)).status;
    }

    /** Deletes a blob from a repository (the registry runs with `storage.delete.enabled`). */
    async deleteBlob(repo: string, digest: string): Promise<number> {
        return (await this.request("DELETE", `/v2/${repo}/blobs/${digest}`)).status;
    }

    /** Where the registry's filesystem driver keeps a blob's bytes (manifests are blobs too). */
    blobPath(digest: string): string {
        const hex = digest.replace(/^sha256:/, "");
        return `${this.registry.storageDir}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    }
}
