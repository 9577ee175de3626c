/**
 * The `ecr-layer-cache-policies` policy pack. Constructing a PolicyPack starts the policy server and
 * never returns, so the rules live in `rules.ts`, which the tests import instead of this file.
 *
 *     pulumi preview --policy-pack policy
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("ecr-layer-cache-policies", { policies });
