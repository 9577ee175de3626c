/**
 * Example consumer of the ecr-layer-cache stack: reads its outputs through a StackReference and runs the
 * image it builds as an ECS task, with a role that may pull only that repository.
 *
 *     pulumi config set producerStack prod   # default: dev
 *     pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { createConsumer } from "./consumer";

const cfg = new pulumi.Config();
/** A config value, where unset and "" (the Pulumi.yaml default) both mean `fallback`. */
function setting(key: string, fallback: string): string {
    const v = cfg.get(key);
    return v === undefined || v === "" ? fallback : v;
}
const organization = setting("producerOrganization", pulumi.getOrganization());
const producerStack = setting("producerStack", "dev");

export const producerStackName = `${organization}/ecr-layer-cache/${producerStack}`;
const producer = new pulumi.StackReference(producerStackName);

const repositoryUrl = producer.requireOutput("repositoryUrl") as pulumi.Output<string>;
const repositoryArn = producer.requireOutput("repositoryArn") as pulumi.Output<string>;
const imageUri = producer.requireOutput("imageUri") as pulumi.Output<string>;

const consumer = createConsumer("consumer", { repositoryArn, imageUri });

export const image = imageUri;
export const repository = repositoryUrl;
export const executionRoleArn = consumer.taskDefinition.executionRoleArn;
export const taskDefinitionArn = consumer.taskDefinition.arn;
