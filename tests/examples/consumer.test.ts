/**
 * The consumer example (`examples/consumer`) under mocks, with a mocked StackReference: it reads the
 * producer stack named from its config, and wires `repositoryArn` into a pull-only policy and `imageUri`
 * into the task definition.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConsumerOutputs, program, pullPolicyDocument } from "../../examples/consumer/consumer";
import { ACCOUNT, findResource, registrations, runWithConfig, valueOf } from "../../scripts/mockRuntime";

const PROJECT = "ecr-layer-cache-consumer";
const REPO = "docker-cache-prod";
const PRODUCER = {
    repositoryUrl: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/${REPO}`,
    repositoryArn: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/${REPO}`,
    imageUri: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/${REPO}:latest`,
    repositoryName: REPO,
    cacheStrategy: "registry",
};

function runConsumer(config: Record<string, string>, organization = "acme"): Promise<ConsumerOutputs> {
    const full: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        full[`${PROJECT}:${k}`] = v;
    }
    return runWithConfig(program, {
        project: PROJECT,
        stack: "staging",
        organization,
        stackOutputs: {
            "acme/ecr-layer-cache/prod": PRODUCER,
            "other-org/ecr-layer-cache/dev": { ...PRODUCER, imageUri: "x.dkr.ecr.eu-west-1.amazonaws.com/dev:latest" },
        },
        config: full,
    });
}

describe("consumer example under mocks", () => {
    after(() => pulumi.runtime.setAllConfig({}, []));

    it("reads <organization>/ecr-layer-cache/<producerStack>, the organization defaulting to its own", async () => {
        const outputs = await runConsumer({ producerStack: "prod", producerOrganization: "" });
        assert.equal(outputs.producerStackName, "acme/ecr-layer-cache/prod");
        const ref = findResource("pulumi:pulumi:StackReference");
        assert.equal(ref.id, "acme/ecr-layer-cache/prod");
        assert.equal(ref.name, "acme/ecr-layer-cache/prod");
    });

    it("wires repositoryArn into a pull-only role policy and imageUri into the task definition", async () => {
        const outputs = await runConsumer({ producerStack: "prod" });
        const role = findResource("aws:iam/role:Role", "consumer-execution");
        assert.deepEqual(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Principal, {
            Service: "ecs-tasks.amazonaws.com",
        });

        const policy = findResource("aws:iam/rolePolicy:RolePolicy", "consumer-pull");
        assert.equal(policy.inputs.role, "consumer-execution");
        const doc = JSON.parse(String(policy.inputs.policy)) as {
            Statement: { Action: string[]; Resource: string[] }[];
        };
        assert.deepEqual(doc, pullPolicyDocument(PRODUCER.repositoryArn));
        assert.deepEqual(doc.Statement[1].Resource, [PRODUCER.repositoryArn]);
        assert.ok(!doc.Statement[1].Action.some((a) => /Put|Upload|Delete/.test(a)), "pull only");

        const task = findResource("aws:ecs/taskDefinition:TaskDefinition", "consumer-task");
        assert.deepEqual(JSON.parse(String(task.inputs.containerDefinitions)), [
            { name: "app", image: PRODUCER.imageUri, essential: true },
        ]);
        assert.equal(task.inputs.executionRoleArn, `arn:aws:iam::${ACCOUNT}:role/consumer-execution`);
        assert.ok(task.dependencies.includes(policy.urn), "the task definition waits for the pull policy");

        assert.equal(await valueOf(outputs.image), PRODUCER.imageUri);
        assert.equal(await valueOf(outputs.repository), PRODUCER.repositoryUrl);
        assert.equal(await valueOf(outputs.executionRoleArn), `arn:aws:iam::${ACCOUNT}:role/consumer-execution`);
        assert.equal(
            await valueOf(outputs.taskDefinitionArn),
            `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/consumer:1`,
        );
        assert.deepEqual(registrations.map((r) => r.type).sort(), [
            "aws:ecs/taskDefinition:TaskDefinition",
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "pulumi:pulumi:StackReference",
        ]);
    });

    it("follows producerOrganization and producerStack from config", async () => {
        const outputs = await runConsumer({ producerStack: "dev", producerOrganization: "other-org" });
        assert.equal(findResource("pulumi:pulumi:StackReference").id, "other-org/ecr-layer-cache/dev");
        assert.equal(await valueOf(outputs.image), "x.dkr.ecr.eu-west-1.amazonaws.com/dev:latest");
    });
});
