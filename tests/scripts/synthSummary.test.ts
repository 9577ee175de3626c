/**
 * The summary's wording (scripts/synthSummary.ts), on hand-made resources: the filters, approval policies and IAM
 * statements that the stacks in this repository don't produce (tests/scripts/synth.test.ts covers those, end to end). Pure:
 * no mock runtime, the registrations are plain objects.
 */
import { strict as assert } from "node:assert";
import type { Registration } from "../../scripts/mockRuntime";
import { roles, typeName, webhookWords } from "../../scripts/synthSummary";

function reg(type: string, name: string, inputs: Record<string, unknown>, state: Record<string, unknown> = {}) {
    const r: Registration = {
        type,
        name,
        inputs,
        wire: inputs,
        custom: true,
        urn: "",
        parent: "",
        protect: undefined,
        retainOnDelete: undefined,
        dependencies: [],
        state,
    };
    return r;
}

describe("synth summary wording (scripts/synthSummary.ts)", () => {
    it("type tokens as the README writes them", () => {
        assert.equal(typeName("aws:ecr/repository:Repository"), "aws.ecr.Repository");
        assert.equal(typeName("ecr-layer-cache:index:CachedDockerBuild"), "ecr-layer-cache:index:CachedDockerBuild");
    });

    it("webhook filters: base refs, excluded patterns, regex fallbacks, no approval, manual creation, batch builds", () => {
        assert.deepEqual(
            webhookWords({
                buildType: "BUILD_BATCH",
                manualCreation: true,
                filterGroups: [
                    {
                        filters: [
                            { type: "EVENT", pattern: "PULL_REQUEST_CREATED, PULL_REQUEST_MERGED" },
                            { type: "BASE_REF", pattern: "^(?:refs\\/heads\\/main|refs\\/heads\\/release\\/1\\.x)$" },
                            { type: "FILE_PATH", pattern: "^(?:docs\\/)", excludeMatchedPattern: true },
                        ],
                    },
                    {
                        filters: [
                            { type: "EVENT", pattern: "PUSH" },
                            { type: "HEAD_REF", pattern: "^refs/heads/feature/.*$" },
                            { type: "ACTOR_ACCOUNT_ID", pattern: "12345" },
                        ],
                    },
                ],
                pullRequestBuildPolicy: { requiresCommentApproval: "DISABLED" },
            }),
            [
                "builds pull requests (created, merged) into refs/heads/main or refs/heads/release/1.x not changing files under docs/",
                "builds pushes to a ref matching ^refs/heads/feature/.*$ ACTOR_ACCOUNT_ID matching 12345",
                "pull requests build without approval, forks too",
                "the webhook is added by hand in the source provider (manualCreation)",
                "each event starts a batch build",
            ],
        );
    });

    it("roles: Deny and NotAction statements, conditions, a policy attached from outside the stack", () => {
        const trust = {
            Statement: [
                { Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "sts:AssumeRole" },
            ],
        };
        const policy = {
            Statement: [
                { Effect: "Deny", NotAction: ["s3:GetObject"], Resource: "*" },
                {
                    Effect: "Allow",
                    Action: "s3:GetObject",
                    Resource: "arn:aws:s3:::bucket/*",
                    Condition: { Bool: { "aws:SecureTransport": "true" } },
                },
            ],
        };
        const regs = [
            reg(
                "aws:iam/role:Role",
                "r",
                { name: "reader", assumeRolePolicy: JSON.stringify(trust) },
                { name: "reader" },
            ),
            reg("aws:iam/rolePolicy:RolePolicy", "rp", {
                name: "read",
                role: "reader",
                policy: JSON.stringify(policy),
            }),
            reg("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
                role: "reader",
                policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
            }),
        ];
        assert.deepEqual(roles(regs), [
            {
                name: "reader",
                assumedBy: "AWS arn:aws:iam::111122223333:root",
                usedBy: [],
                policies: [
                    {
                        name: "inline policy read",
                        statements: [
                            "denied: every action but s3: GetObject on *",
                            "s3: GetObject on bucket/* when aws:SecureTransport is true",
                        ],
                    },
                    { name: "policy arn:aws:iam::aws:policy/ReadOnlyAccess (not in this stack)", statements: [] },
                ],
            },
        ]);
    });
});
