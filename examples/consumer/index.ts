/**
 * Example consumer of the ecr-layer-cache stack: reads its outputs through a StackReference and runs the
 * image it builds as an ECS task, with a role that may pull only that repository (see `consumer.ts`).
 *
 *     pulumi config set producerStack prod   # default: dev
 *     pulumi up
 */
import { program } from "./consumer";

const outputs = program();

export const producerStackName = outputs.producerStackName;
export const image = outputs.image;
export const repository = outputs.repository;
export const executionRoleArn = outputs.executionRoleArn;
export const taskDefinitionArn = outputs.taskDefinitionArn;
