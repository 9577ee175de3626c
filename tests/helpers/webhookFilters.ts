/**
 * How CodeBuild evaluates a webhook's filter groups against an event, as its documentation describes it: the one
 * evaluator of the tests (the trust-rule agreement in branchCache.test.ts, the two projects' webhooks in
 * pullRequestProject.test.ts).
 */
import type { WebhookFilterGroup } from "../../components/triggers";
import type { BuildEvent } from "./events";

/** What the webhook sees of an event (tests/helpers/events.ts). */
type WebhookView = NonNullable<BuildEvent["webhook"]>;

/**
 * Whether CodeBuild starts a build for `e` under `groups`, as its documentation describes the evaluation ("GitHub
 * webhook events"; API WebhookFilter): a build starts when every filter of at least one group passes. EVENT: the
 * event is one of the comma-separated names. HEAD_REF / BASE_REF: the pattern, a regular expression, is found in the
 * ref (a push has no base ref: a BASE_REF filter does not pass). FILE_PATH: taken as passing (every event here
 * changes a file under the configured paths). `excludeMatchedPattern` inverts a filter.
 */
export function webhookStarts(groups: readonly WebhookFilterGroup[], e: WebhookView): boolean {
    return groups.some((g) =>
        g.filters.every((f) => {
            let match: boolean;
            switch (f.type) {
                case "EVENT":
                    match = f.pattern
                        .split(",")
                        .map((x) => x.trim())
                        .includes(e.event);
                    break;
                case "HEAD_REF":
                    match = new RegExp(f.pattern).test(e.headRef);
                    break;
                case "BASE_REF":
                    match = e.baseRef !== undefined && new RegExp(f.pattern).test(e.baseRef);
                    break;
                default:
                    match = true;
            }
            return f.excludeMatchedPattern ? !match : match;
        }),
    );
}
