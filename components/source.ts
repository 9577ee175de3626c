/**
 * Where the project's source comes from and how CodeBuild signs in to it: the provider (GitHub, GitLab, Bitbucket),
 * an AWS CodeConnections connection (an existing one, or one the stack creates), or the `githubToken` fallback kept
 * in a Secrets Manager secret that the stack owns. Both attach to this project only, through the project source's
 * `auth` block (`CODECONNECTIONS` or `SECRETS_MANAGER`); nothing here is account- or region-wide, unlike the
 * `aws.codebuild.SourceCredential` this replaces (one per account, region and provider, used by every project
 * there, and deleted for all of them by `pulumi destroy`).
 *
 * Pure parts: the provider table, URL and ARN checks, the secret's value, the role's statements
 * ({@link sourceAuthStatements}) and {@link resolveSource} (defaults and validation, called by `resolveArgs`).
 * Resources: {@link createSourceAuth}.
 *
 * Sources: CodeBuild API `SourceAuth` (types `CODECONNECTIONS`, `SECRETS_MANAGER`); CodeBuild user guide
 * "Create and store a token in a Secrets Manager secret" (the secret's JSON and its `codebuild:source` tags);
 * Developer Tools console guide "Update a pending connection" (a new connection is PENDING until the handshake)
 * and "Permissions and examples for AWS CodeConnections" (an IAM action's prefix must match the ARN's service).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import {
    type CachedDockerBuildArgs,
    type ResolvedArgs,
    type SourceAuthKind,
    SOURCE_PROVIDERS,
    SourceProvider,
} from "./args";
import { type Problems, SECRET_VALUE } from "./problems";
// The source enumerations live with the other enumerations, in args.ts.
export { SOURCE_PROVIDERS, SourceAuthKind, SourceProvider } from "./args";

interface ProviderDetails {
    /** The URL shape of a repository: `https://<host>/<owner>/<repo>[.git]` (GitLab: any depth of groups). */
    readonly url: RegExp;
    readonly urlShape: string;
    /** The project's `source.type`. */
    readonly sourceType: string;
    /** `aws.codeconnections.Connection`'s `providerType`. */
    readonly connectionProviderType: string;
}

const SEGMENT = "[A-Za-z0-9_.-]+";
export const PROVIDERS: Readonly<Record<SourceProvider, ProviderDetails>> = {
    github: {
        url: new RegExp(`^https://github\\.com/${SEGMENT}/${SEGMENT}$`),
        urlShape: "https://github.com/<owner>/<repo>[.git]",
        sourceType: "GITHUB",
        connectionProviderType: "GitHub",
    },
    gitlab: {
        url: new RegExp(`^https://gitlab\\.com/${SEGMENT}(?:/${SEGMENT})+$`),
        urlShape: "https://gitlab.com/<group>[/<subgroup>…]/<project>[.git]",
        sourceType: "GITLAB",
        connectionProviderType: "GitLab",
    },
    bitbucket: {
        url: new RegExp(`^https://bitbucket\\.org/${SEGMENT}/${SEGMENT}$`),
        urlShape: "https://bitbucket.org/<workspace>/<repo>[.git]",
        sourceType: "BITBUCKET",
        connectionProviderType: "Bitbucket",
    },
};

/** The provider whose URL shape `url` has, or undefined. */
export function providerOfUrl(url: string): SourceProvider | undefined {
    return SOURCE_PROVIDERS.find((p) => PROVIDERS[p].url.test(url));
}

/**
 * A CodeConnections connection ARN; connections made before mid-2024 carry the old service name
 * `codestar-connections`, and IAM wants the action prefix of the ARN's own service.
 */
const CONNECTION_ARN =
    /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/;
/** CodeConnections connection names: 1 to 32 characters (CreateConnection's ConnectionName). */
const CONNECTION_NAME = /^[A-Za-z0-9.@_-]{1,32}$/;

/**
 * What the role may do with the connection: every action CodeBuild checks on it, each on the one connection ARN.
 * - `GetConnectionToken` and `GetConnection`: CodeBuild user guide, "Connect CodeBuild to GitHub with a GitHub App"
 *   (https://docs.aws.amazon.com/codebuild/latest/userguide/connections-github-app.html), the service role's policy.
 * - `UseConnection`: that guide doesn't list it, but CodeBuild checks it on the service role when the project is
 *   created and when its webhook is: CreateProject fails with "User is not authorized to access connection"
 *   (OAuthProviderException) without it, and the fix grants all three (aws/aws-cdk#38504, fix PR aws/aws-cdk#38508);
 *   CreateWebhook fails with "Access denied to connection" (InvalidInputException) with only the guide's two
 *   (aws/aws-cdk#31726, whose fix PR aws/aws-cdk#37522 grants `UseConnection`; hashicorp/terraform-provider-aws#40656).
 *   The Developer Tools console guide's example policies use it too ("Permissions and examples for AWS
 *   CodeConnections", https://docs.aws.amazon.com/dtconsole/latest/userguide/security_iam_id-based-policy-examples-connections.html).
 * CodeBuild checks them at create time, so the project must be created only once the policy is attached: the
 * project's `serviceRole` is `iam.ts`'s `roleArn`, which resolves after the attachment (tests/program.test.ts).
 * The action's prefix is the ARN's service (`codeconnections` or `codestar-connections`), see {@link sourceAuthStatements}.
 */
export const CONNECTION_ACTIONS = ["GetConnectionToken", "GetConnection", "UseConnection"] as const;
/** What the role may do with the token's secret: read its value. */
export const SECRET_ACTIONS = ["secretsmanager:GetSecretValue"] as const;

/** The ARNs the role may use to sign in to the source; both unset for a public source. */
export interface SourceAuthArns {
    readonly connectionArn?: string;
    readonly secretArn?: string;
}

/**
 * The role's statements for signing in to the source (pure): {@link CONNECTION_ACTIONS} on the connection, with the
 * prefix of the ARN's own service ("When specifying a resource in the IAM policy, the service prefix needs to match
 * that of the resource": Developer Tools console guide, "Connections rename - Summary of changes",
 * https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html), or `secretsmanager:GetSecretValue` on the
 * token's secret. None for a public source.
 */
export function sourceAuthStatements(arns: SourceAuthArns): aws.iam.PolicyStatement[] {
    const statements: aws.iam.PolicyStatement[] = [];
    if (arns.connectionArn !== undefined) {
        const service = arns.connectionArn.split(":")[2];
        statements.push({
            Sid: "UseThisSourceConnectionOnly",
            Effect: "Allow",
            Action: CONNECTION_ACTIONS.map((a) => `${service}:${a}`),
            Resource: [arns.connectionArn],
        });
    }
    if (arns.secretArn !== undefined) {
        statements.push({
            Sid: "ReadThisSourceTokenOnly",
            Effect: "Allow",
            Action: [...SECRET_ACTIONS],
            Resource: [arns.secretArn],
        });
    }
    return statements;
}

/** The name of the secret that holds `githubToken`: `codebuild/<projectName>/github-token`. */
export function githubTokenSecretName(projectName: string): string {
    return `codebuild/${projectName}/github-token`;
}

/** The secret's value in the shape CodeBuild reads (CodeBuild user guide, "Create and store a token in a Secrets Manager secret"). */
export function githubTokenSecretValue(token: string): string {
    return JSON.stringify({ ServerType: "GITHUB", AuthType: "PERSONAL_ACCESS_TOKEN", Token: token });
}

/** The tags CodeBuild's console uses to list a secret as a source credential (same guide). */
export const GITHUB_TOKEN_SECRET_TAGS = {
    "codebuild:source": "",
    "codebuild:source:type": "personal_access_token",
    "codebuild:source:provider": "github",
} as const;

/** The console page where a PENDING connection's one-time handshake is done (Developer Tools console guide). */
export function connectionConsoleUrl(region: string): string {
    return `https://console.aws.amazon.com/codesuite/settings/connections?region=${region}`;
}

/**
 * A connection's status: `PENDING` until its handshake, then `AVAILABLE`; `ERROR` "is retried automatically. It
 * cannot be used until it is available" (Developer Tools console guide, "Workflow to create or update connections",
 * https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections-workflow.html; CodeConnections API
 * `Connection.ConnectionStatus`: PENDING | AVAILABLE | ERROR). Only an AVAILABLE connection can sign in, so only
 * then can CodeBuild create the webhook or clone the source.
 */
export const CONNECTION_AVAILABLE = "AVAILABLE";

/**
 * What `pulumi up` says while the connection isn't AVAILABLE (pure): its status, what waits for it, where the
 * handshake is done, and that the next `pulumi up` finishes the job.
 */
export function connectionNotReadyMessage(status: string, connectionArn: string, handshakeUrl: string): string {
    const id = connectionArn.split("/").pop();
    const what =
        status === "PENDING"
            ? `is PENDING: its one-time handshake with the provider isn't done. Complete it at ${handshakeUrl} (choose the connection ${id}, then "Update pending connection")`
            : `is ${status}, so it can't be used until it is AVAILABLE (an ERROR connection is retried automatically; its page is at ${handshakeUrl}, connection ${id})`;
    return (
        `The source connection ${connectionArn} ${what}. ` +
        "Until then this stack creates no webhook and keeps the schedule, if any, disabled; builds can't fetch the source. " +
        "Run `pulumi up` again once the connection is AVAILABLE: it creates the webhook and enables the schedule."
    );
}

/** Whether the connection can be used now, and where its handshake is done while it can't. */
export interface ConnectionReadiness {
    /** The connection is AVAILABLE: the webhook may be created and the schedule enabled. */
    readonly ready: pulumi.Output<boolean>;
    /** {@link connectionConsoleUrl} while the connection isn't AVAILABLE; undefined once it is. */
    readonly handshakeUrl: pulumi.Output<string | undefined>;
}

/**
 * Whether the connection is AVAILABLE, from its live status ({@link readConnectionStatus}); while it isn't, warns on
 * `resource` ({@link connectionNotReadyMessage}: the status, the handshake URL, and that the next `pulumi up`
 * creates the webhook). Unknown in the preview of the update that creates the connection.
 */
export function connectionReadiness(
    status: pulumi.Output<string | undefined>,
    connectionArn: pulumi.Output<string | undefined>,
    region: pulumi.Output<string>,
    resource: pulumi.Resource,
): ConnectionReadiness {
    const checked = pulumi.all([status, connectionArn, region]).apply(([s, arn, r]) => {
        const ready = s === CONNECTION_AVAILABLE;
        const url = connectionConsoleUrl(r);
        if (!ready) {
            void pulumi.log.warn(connectionNotReadyMessage(String(s), String(arn), url), resource);
        }
        return { ready, handshakeUrl: ready ? undefined : url };
    });
    return { ready: checked.apply((c) => c.ready), handshakeUrl: checked.apply((c) => c.handshakeUrl) };
}

/** Defaults of the source arguments: AWS's public repository of CodeBuild images, no connection. */
export const SOURCE_DEFAULTS = {
    sourceUrl: "https://github.com/aws/aws-codebuild-docker-images.git",
    sourceVersion: "master",
    createConnection: false,
} as const satisfies Partial<ResolvedArgs>;

// Git ref names (git check-ref-format, simplified to what matters here).
// JS's \s already covers U+2028/U+2029/U+FEFF; C1 controls (incl. NEL, U+0085) are added for the buildspec's sake
// (see buildContext.ts's NO_CONTROL).
const GIT_REF = /^(?!\/|.*\/\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|.*\.$)[^\s~^:?*[\\\x00-\x1f\x7f-\x9f]{1,255}$/;

/** The source arguments after defaults and validation. */
export interface ResolvedSource {
    readonly sourceUrl: string;
    readonly sourceVersion: string;
    /** The refs whose builds write the cache; by default the project's `sourceVersion`. */
    readonly trustedRefs: string[];
    readonly sourceProvider: SourceProvider;
    readonly connectionArn: string | undefined;
    readonly createConnection: boolean;
    readonly connectionName: string;
    /** How the project signs in: derived from the three above and `githubToken`. */
    readonly sourceAuth: SourceAuthKind;
}

/**
 * Defaults and checks of the source arguments: the URL and the provider (from the URL unless set, and agreeing with
 * it), the connection (an ARN, or created, not both), the token (GitHub only; not with a connection), the version
 * built, and the refs trusted to write the cache. Returns the values even when a problem was recorded;
 * `resolveArgs` throws before they are used.
 */
export function resolveSource(
    p: Problems,
    args: CachedDockerBuildArgs,
    other: { readonly projectName: string },
): ResolvedSource {
    const sourceUrl = args.sourceUrl ?? SOURCE_DEFAULTS.sourceUrl;
    const bare = sourceUrl.replace(/\.git$/, "");
    const fromUrl = providerOfUrl(bare);
    const sourceProvider = args.sourceProvider ?? fromUrl ?? SourceProvider.GitHub;
    const providerOk = p.check(
        SOURCE_PROVIDERS.includes(sourceProvider),
        "sourceProvider",
        sourceProvider,
        `Allowed: ${SOURCE_PROVIDERS.join(", ")}.`,
    );
    if (providerOk) {
        p.check(
            PROVIDERS[sourceProvider].url.test(bare),
            "sourceUrl",
            sourceUrl,
            `Allowed: an HTTPS repository URL of the source provider (${sourceProvider}): ${PROVIDERS[sourceProvider].urlShape}.`,
        );
    }

    const connectionArn = args.connectionArn;
    const createConnection = args.createConnection ?? SOURCE_DEFAULTS.createConnection;
    if (connectionArn !== undefined) {
        p.check(
            typeof connectionArn === "string" && CONNECTION_ARN.test(connectionArn),
            "connectionArn",
            connectionArn,
            "Allowed: a CodeConnections connection ARN, arn:aws:codeconnections:<region>:<account>:connection/<id> (or codestar-connections).",
        );
        p.check(
            !createConnection,
            "createConnection",
            createConnection,
            "Allowed: false when connectionArn is set; use the existing connection or create one, not both.",
        );
    }
    const connectionName = args.connectionName ?? other.projectName;
    if (createConnection || args.connectionName !== undefined) {
        const nameOk = p.check(
            createConnection,
            "connectionName",
            connectionName,
            "Allowed only with createConnection: true (it names the connection the stack creates).",
        );
        if (nameOk) {
            p.check(
                CONNECTION_NAME.test(connectionName),
                "connectionName",
                connectionName,
                `Allowed: 1 to 32 letters, digits and '.@_-' (CodeConnections' limit)${args.connectionName === undefined ? "; the default is projectName, which is longer, so set connectionName" : ""}.`,
            );
        }
    }
    const withConnection = connectionArn !== undefined || createConnection;
    const withToken = args.githubToken !== undefined;
    if (withToken) {
        p.check(
            !withConnection,
            "githubToken",
            SECRET_VALUE,
            "Allowed only without a connection (connectionArn or createConnection): the connection signs in instead.",
        );
        if (providerOk) {
            p.check(
                sourceProvider === "github",
                "githubToken",
                SECRET_VALUE,
                `Allowed only with a GitHub source (got sourceProvider ${sourceProvider}); sign in to ${sourceProvider} with a connection.`,
            );
        }
    }
    const sourceAuth: SourceAuthKind = withConnection ? "connection" : withToken ? "token" : "none";

    const sourceVersion = args.sourceVersion ?? SOURCE_DEFAULTS.sourceVersion;
    const sourceVersionOk = p.check(
        GIT_REF.test(sourceVersion),
        "sourceVersion",
        sourceVersion,
        "Allowed: a branch, tag or commit name (git ref syntax, no spaces or control characters).",
    );
    // The default follows sourceVersion; a bad sourceVersion is reported once, under its own key.
    const trustedRefs = args.trustedRefs ?? [sourceVersion];
    if (args.trustedRefs !== undefined || sourceVersionOk) {
        const listOk = p.check(
            Array.isArray(trustedRefs) && trustedRefs.length > 0,
            "trustedRefs",
            trustedRefs,
            "Allowed: a non-empty list of branch or tag names.",
        );
        for (const ref of listOk ? trustedRefs : []) {
            const syntaxOk = p.check(
                typeof ref === "string" && GIT_REF.test(ref),
                "trustedRefs",
                ref,
                "Allowed: branch or tag names (git ref syntax).",
            );
            if (syntaxOk) {
                p.check(
                    !/^pr\//.test(ref),
                    "trustedRefs",
                    ref,
                    "Allowed: branch or tag names; pull-request refs (pr/...) must never write the cache.",
                );
            }
        }
    }
    return {
        sourceUrl,
        sourceVersion,
        trustedRefs,
        sourceProvider,
        connectionArn,
        createConnection,
        connectionName,
        sourceAuth,
    };
}

/** What {@link createSourceAuth} made, and the project's `source.auth`. */
export interface SourceAuthResources {
    readonly connection?: aws.codeconnections.Connection;
    readonly secret?: aws.secretsmanager.Secret;
    readonly secretVersion?: aws.secretsmanager.SecretVersion;
    /** The project's `source.auth`; undefined for a public source. */
    readonly auth?: pulumi.Output<{ type: string; resource: string }>;
    /** The ARNs the role may use (see {@link sourceAuthStatements}); resolves to `{}` for a public source. */
    readonly arns: pulumi.Output<SourceAuthArns>;
    /** The connection's ARN (given or created); undefined without a connection. */
    readonly connectionArn: pulumi.Output<string | undefined>;
    /**
     * The connection's live status, read on every preview and update (`PENDING` until the handshake, then
     * `AVAILABLE`; see {@link readConnectionStatus}); undefined without a connection. Unknown in the preview of
     * the update that creates the connection.
     */
    readonly connectionStatus: pulumi.Output<string | undefined>;
}

/**
 * The connection's status as CodeConnections reports it now, not as the stack's state last recorded it: the
 * created connection's own `connectionStatus` is written once, at creation (PENDING), and an unchanged resource
 * isn't read again by `pulumi up` (only by `pulumi refresh`), so it would stay PENDING after the handshake.
 *
 * A read of the connection (`Connection.get`, a `read` step) runs on every preview and update, previews included,
 * whenever its ID is known ("Read is unique among steps in that it runs during previews as long as the ID ... is
 * known", pulumi/pulumi#1654). It reads through the resource of the ARN's own service (`aws.codeconnections` or
 * `aws.codestarconnections`), so the deploying identity needs `<service>:GetConnection` on it (and reading its
 * tags). The read is named `<name>-connection-status` and is never created, changed or deleted by the stack.
 */
export function readConnectionStatus(
    name: string,
    connectionArn: pulumi.Input<string>,
    service: "codeconnections" | "codestar-connections",
    opts: pulumi.ResourceOptions,
): pulumi.Output<string> {
    // A read takes no protect flag; only the parent matters.
    const readOpts: pulumi.CustomResourceOptions = { parent: opts.parent };
    const read =
        service === "codeconnections"
            ? aws.codeconnections.Connection.get(`${name}-connection-status`, connectionArn, undefined, readOpts)
            : aws.codestarconnections.Connection.get(`${name}-connection-status`, connectionArn, undefined, readOpts);
    return read.connectionStatus;
}

/**
 * The sign-in of the project: the connection the stack creates, or the secret holding `githubToken` (its value a
 * secret in state), or nothing for a public source or an existing connection.
 */
export function createSourceAuth(
    name: string,
    a: Pick<
        ResolvedSource,
        "sourceAuth" | "sourceProvider" | "connectionArn" | "createConnection" | "connectionName"
    > & {
        readonly projectName: string;
    },
    inputs: {
        readonly githubToken?: pulumi.Input<string>;
        readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    },
    opts: pulumi.ResourceOptions,
): SourceAuthResources {
    if (a.sourceAuth === "connection") {
        const connection = a.createConnection
            ? new aws.codeconnections.Connection(
                  `${name}-connection`,
                  {
                      name: a.connectionName,
                      providerType: PROVIDERS[a.sourceProvider].connectionProviderType,
                      tags: inputs.tags,
                  },
                  opts,
              )
            : undefined;
        const arn = connection ? connection.arn : pulumi.output(a.connectionArn!);
        // A created connection is aws.codeconnections'; a given ARN names its own service (CONNECTION_ARN).
        const service = connection ? "codeconnections" : a.connectionArn!.split(":")[2];
        return {
            connection,
            auth: arn.apply((resource) => ({ type: "CODECONNECTIONS", resource })),
            arns: arn.apply((connectionArn) => ({ connectionArn })),
            connectionArn: arn,
            connectionStatus: readConnectionStatus(
                name,
                arn,
                service === "codestar-connections" ? "codestar-connections" : "codeconnections",
                opts,
            ),
        };
    }
    if (a.sourceAuth === "token" && inputs.githubToken !== undefined) {
        const secret = new aws.secretsmanager.Secret(
            `${name}-github-token`,
            {
                name: githubTokenSecretName(a.projectName),
                description: `GitHub personal access token of the CodeBuild project ${a.projectName} (its source auth only)`,
                // The value lives in the stack's config, so nothing is lost; a recovery window would only keep the
                // name taken, and a destroy followed by an up would fail to create the secret again.
                recoveryWindowInDays: 0,
                tags: pulumi
                    .output(inputs.tags ?? {})
                    .apply((t): Record<string, string> => ({ ...t, ...GITHUB_TOKEN_SECRET_TAGS })),
            },
            opts,
        );
        const secretVersion = new aws.secretsmanager.SecretVersion(
            `${name}-github-token-value`,
            {
                secretId: secret.arn,
                // Secret even if the token came as a plain string: the engine then encrypts it in state.
                secretString: pulumi.secret(pulumi.output(inputs.githubToken).apply(githubTokenSecretValue)),
            },
            opts,
        );
        // The project reads the secret only once it holds the token.
        const arn = pulumi.all([secret.arn, secretVersion.id]).apply(([secretArn]) => secretArn);
        return {
            secret,
            secretVersion,
            auth: arn.apply((resource) => ({ type: "SECRETS_MANAGER", resource })),
            arns: arn.apply((secretArn) => ({ secretArn })),
            connectionArn: pulumi.output(undefined),
            connectionStatus: pulumi.output(undefined),
        };
    }
    return {
        arns: pulumi.output({}),
        connectionArn: pulumi.output(undefined),
        connectionStatus: pulumi.output(undefined),
    };
}
