/**
 * The ECR pull-through cache rules of the stack (`pullThroughCache: "create"`), and what each needs:
 * - one `aws.ecr.PullThroughCacheRule` per upstream (ECR Public: no credential; Docker Hub: a Secrets Manager
 *   secret named `ecr-pullthroughcache/…`, either given as an ARN or created here from a user name and token);
 * - one `aws.ecr.RepositoryCreationTemplate` per prefix, applied to the repositories the cache creates
 *   (`PULL_THROUGH_CACHE`), with the lifecycle rules of `upstreamCacheLifecyclePolicy`.
 *
 * With `existing` nothing is created here: the rules and their templates belong to whoever created them.
 * Rules and templates are registry-wide (account and region), not per stack: two stacks of one account and
 * region must not both create the same prefix (ECR refuses the second rule, and the second stack's destroy
 * would delete the first one's).
 *
 * The pure parts (prefixes, credential names, the lifecycle document) live in `pullThrough.ts` and `lifecycle.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { ResolvedArgs } from "./args";
import { upstreamCacheLifecyclePolicy } from "./lifecycle";
import { credentialSecretName, Upstream, UPSTREAMS } from "./pullThrough";

export interface UpstreamCacheResources {
    readonly rules: aws.ecr.PullThroughCacheRule[];
    readonly templates: aws.ecr.RepositoryCreationTemplate[];
    /** The Docker Hub credential, when created from `dockerHubUsername` and `dockerHubAccessToken`. */
    readonly credential?: {
        readonly secret: aws.secretsmanager.Secret;
        readonly version: aws.secretsmanager.SecretVersion;
    };
}

/** What the Docker Hub rule needs besides the resolved arguments: the access token, handed through untouched. */
export interface UpstreamCacheInputs {
    readonly dockerHubAccessToken?: pulumi.Input<string>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The name of the Docker Hub credential's secret that the stack creates: `ecr-pullthroughcache/<projectName>-docker-hub`. */
export function dockerHubSecretName(projectName: string): string {
    return credentialSecretName(`${projectName}-docker-hub`);
}

/** The Docker Hub credential as ECR reads it from the secret: `{"username": …, "accessToken": …}`. */
export function dockerHubSecretValue(username: string, accessToken: string): string {
    return JSON.stringify({ username, accessToken });
}

export function createUpstreamCaches(
    name: string,
    a: ResolvedArgs,
    inputs: UpstreamCacheInputs,
    opts: pulumi.ResourceOptions,
): UpstreamCacheResources {
    if (a.pullThroughCache !== "create") {
        return { rules: [], templates: [] };
    }
    const credential = createDockerHubCredential(name, a, inputs, opts);
    const lifecyclePolicy = JSON.stringify(
        upstreamCacheLifecyclePolicy({ untaggedExpiryDays: a.untaggedExpiryDays, maxTaggedImages: a.maxTaggedImages }),
    );
    const rules: aws.ecr.PullThroughCacheRule[] = [];
    const templates: aws.ecr.RepositoryCreationTemplate[] = [];
    for (const { upstream, prefix } of a.upstreamCaches) {
        const template = new aws.ecr.RepositoryCreationTemplate(
            `${name}-${upstream}-template`,
            {
                prefix,
                appliedFors: ["PULL_THROUGH_CACHE"],
                description: `Repositories that the ${upstream} pull-through cache of ${a.projectName} creates under ${prefix}/`,
                lifecyclePolicy,
                // Upstream tags move (node:22 today is not node:22 next month), and the cache follows them.
                imageTagMutability: "MUTABLE",
                // KMS or resource tags would need a custom role for ECR to assume; cached public images need neither.
                encryptionConfigurations: [{ encryptionType: "AES256" }],
            },
            opts,
        );
        const credentialArn = upstream === "docker-hub" ? dockerHubCredentialArn(a, credential) : undefined;
        const rule = new aws.ecr.PullThroughCacheRule(
            `${name}-${upstream}-cache`,
            {
                ecrRepositoryPrefix: prefix,
                upstreamRegistryUrl: UPSTREAMS[upstream].upstreamRegistryUrl,
                credentialArn,
            },
            // The template first, so that no repository of this cache is ever created without its lifecycle
            // rules; and the credential's value before the rule that reads it.
            {
                ...opts,
                dependsOn: [template, ...(upstream === "docker-hub" && credential ? [credential.version] : [])],
            },
        );
        templates.push(template);
        rules.push(rule);
    }
    return { rules, templates, credential };
}

function dockerHubCredentialArn(
    a: ResolvedArgs,
    credential: UpstreamCacheResources["credential"],
): pulumi.Input<string> | undefined {
    return a.dockerHubCredentialArn ?? credential?.secret.arn;
}

/** The Docker Hub credential's secret and its value, when the stack creates them (a user name and token were given). */
function createDockerHubCredential(
    name: string,
    a: ResolvedArgs,
    inputs: UpstreamCacheInputs,
    opts: pulumi.ResourceOptions,
): UpstreamCacheResources["credential"] {
    const docker: Upstream = "docker-hub";
    const username = a.dockerHubUsername;
    const token = inputs.dockerHubAccessToken;
    if (!a.upstreamCaches.some((c) => c.upstream === docker) || username === undefined || token === undefined) {
        return undefined;
    }
    const secret = new aws.secretsmanager.Secret(
        `${name}-docker-hub-credential`,
        {
            name: dockerHubSecretName(a.projectName),
            description: `Docker Hub credential of the ECR pull-through cache of ${a.projectName}`,
            // The value lives in the stack's config, so nothing is lost; a recovery window would only keep the
            // name taken, and a destroy followed by an up would fail to create the secret again.
            recoveryWindowInDays: 0,
            tags: inputs.tags,
        },
        opts,
    );
    const version = new aws.secretsmanager.SecretVersion(
        `${name}-docker-hub-credential-value`,
        {
            secretId: secret.arn,
            // Secret even if the token came as a plain string: the engine then encrypts it in state.
            secretString: pulumi.secret(pulumi.output(token).apply((t) => dockerHubSecretValue(username, t))),
        },
        opts,
    );
    return { secret, version };
}
