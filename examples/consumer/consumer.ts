/**
 * What a consumer builds from the ecr-layer-cache stack's outputs: an ECS task execution role that may
 * pull exactly that repository, and a Fargate task definition that runs the image the cache builds.
 *
 * `createConsumer` is a function of the producer's outputs, so it can be tested with any StackReference,
 * mocked or not; `program` reads this stack's config, makes the StackReference and returns the outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** The producer's outputs this consumer needs (the names `index.ts` of ecr-layer-cache exports). */
export interface ProducerOutputs {
    readonly repositoryArn: pulumi.Input<string>;
    readonly imageUri: pulumi.Input<string>;
}

export interface Consumer {
    readonly executionRole: aws.iam.Role;
    readonly pullPolicy: aws.iam.RolePolicy;
    readonly taskDefinition: aws.ecs.TaskDefinition;
}

/** The pull permissions of CDK's `grantPull`: login on `*` (it has no resource), reads on this repository only. */
export function pullPolicyDocument(repositoryArn: string): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            {
                Sid: "PullTheCachedImage",
                Effect: "Allow",
                Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                Resource: [repositoryArn],
            },
        ],
    };
}

export function createConsumer(
    name: string,
    producer: ProducerOutputs,
    opts: pulumi.CustomResourceOptions = {},
): Consumer {
    const executionRole = new aws.iam.Role(
        `${name}-execution`,
        {
            description: "ECS task execution role: pulls the image built by ecr-layer-cache",
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
                ],
            }),
        },
        opts,
    );
    const pullPolicy = new aws.iam.RolePolicy(
        `${name}-pull`,
        {
            role: executionRole.name,
            policy: pulumi.output(producer.repositoryArn).apply((arn) => JSON.stringify(pullPolicyDocument(arn))),
        },
        opts,
    );
    const taskDefinition = new aws.ecs.TaskDefinition(
        `${name}-task`,
        {
            family: name,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: "256",
            memory: "512",
            // The role's ARN once its pull policy exists, so a task never starts with a role that can't pull.
            executionRoleArn: pulumi.all([executionRole.arn, pullPolicy.id]).apply(([arn]) => arn),
            containerDefinitions: pulumi
                .output(producer.imageUri)
                .apply((image) => JSON.stringify([{ name: "app", image, essential: true }])),
        },
        opts,
    );
    return { executionRole, pullPolicy, taskDefinition };
}

/** The stack outputs of the consumer project. */
export interface ConsumerOutputs {
    readonly producerStackName: string;
    readonly image: pulumi.Output<string>;
    readonly repository: pulumi.Output<string>;
    readonly executionRoleArn: pulumi.Output<string | undefined>;
    readonly taskDefinitionArn: pulumi.Output<string>;
}

/** The program: reads `producerOrganization` and `producerStack`, references that stack, creates the consumer. */
export function program(): ConsumerOutputs {
    const cfg = new pulumi.Config();
    /** A config value, where unset and "" (the Pulumi.yaml default) both mean `fallback`. */
    const setting = (key: string, fallback: string): string => {
        const v = cfg.get(key);
        return v === undefined || v === "" ? fallback : v;
    };
    const organization = setting("producerOrganization", pulumi.getOrganization());
    const producerStack = setting("producerStack", "dev");

    const producerStackName = `${organization}/ecr-layer-cache/${producerStack}`;
    const producer = new pulumi.StackReference(producerStackName);
    const repositoryUrl = producer.requireOutput("repositoryUrl") as pulumi.Output<string>;
    const repositoryArn = producer.requireOutput("repositoryArn") as pulumi.Output<string>;
    const imageUri = producer.requireOutput("imageUri") as pulumi.Output<string>;

    const consumer = createConsumer("consumer", { repositoryArn, imageUri });
    return {
        producerStackName,
        image: imageUri,
        repository: repositoryUrl,
        executionRoleArn: consumer.taskDefinition.executionRoleArn,
        taskDefinitionArn: consumer.taskDefinition.arn,
    };
}
