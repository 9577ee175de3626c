/**
 * The ECR lifecycle policy (pure `lifecycle.ts`): the exact rules, and an executable model of ECR's
 * documented evaluation semantics that checks, for arbitrary repositories, what the rules do.
 *
 * ECR semantics modelled (user guide, "Lifecycle policy properties" and "Lifecycle policy evaluation rules"):
 * - rules are applied by ascending `rulePriority`;
 * - `tagStatus: tagged` with a `tagPatternList` selects an image only if, for EVERY pattern of the list, one of
 *   the image's tags matches it ("If you specify multiple tags, only the images with all specified tags are
 *   selected"); `*` is the only wildcard and a pattern matches a whole tag;
 * - an image that matches the tagging requirements of a rule can't be expired by a rule of lower priority,
 *   even if that rule doesn't expire it (it is shielded), and each image is expired by at most one rule;
 * - `imageCountMoreThan` keeps the newest `countNumber` images (by push time) and expires the older ones;
 *   `sinceImagePushed` expires images pushed more than `countNumber` days ago.
 * Whether shielded images still take up places in a lower rule's count isn't spelled out, so the model
 * runs both ways and the safety properties are checked under both.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import {
    lifecyclePolicy,
    LifecyclePolicyDocument,
    LifecycleRule,
    PROTECT_COUNT,
    upstreamCacheLifecyclePolicy,
} from "../../components/lifecycle";

interface Image {
    readonly id: number;
    readonly tags: readonly string[];
    /** Days since the image was pushed. */
    readonly age: number;
}

function patternMatches(pattern: string, tag: string): boolean {
    const re = new RegExp(
        `^${pattern
            .split("*")
            .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
            .join(".*")}$`,
    );
    return re.test(tag);
}

function selects(rule: LifecycleRule, image: Image): boolean {
    const s = rule.selection;
    switch (s.tagStatus) {
        case "untagged":
            return image.tags.length === 0;
        case "any":
            return true;
        case "tagged":
            if (image.tags.length === 0) {
                return false;
            }
            assert.ok(s.tagPatternList && s.tagPatternList.length > 0, "a tagged rule needs a tagPatternList here");
            return s.tagPatternList.every((p) => image.tags.some((t) => patternMatches(p, t)));
    }
}

/** The ids of the images ECR would expire. */
function evaluate(
    policy: LifecyclePolicyDocument,
    images: readonly Image[],
    shieldedStillCounted: boolean,
): Set<number> {
    const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
    const shielded = new Set<number>();
    const expired = new Set<number>();
    for (const rule of rules) {
        const matched = images.filter((i) => selects(rule, i));
        const candidates = shieldedStillCounted ? matched : matched.filter((i) => !shielded.has(i.id));
        let toExpire: Image[];
        if (rule.selection.countType === "imageCountMoreThan") {
            toExpire = [...candidates].sort((a, b) => a.age - b.age).slice(rule.selection.countNumber);
        } else {
            toExpire = candidates.filter((i) => i.age > rule.selection.countNumber);
        }
        for (const i of toExpire) {
            if (!shielded.has(i.id)) {
                expired.add(i.id);
            }
        }
        for (const i of matched) {
            shielded.add(i.id);
        }
    }
    return expired;
}

describe("lifecycle policy (pure)", () => {
    const opts = { protectedTags: ["latest", "buildcache"], untaggedExpiryDays: 7, maxTaggedImages: 20 };

    it("has exactly these rules: one shield rule per protected tag first, then untagged by age, then other tagged by count", () => {
        const doc = lifecyclePolicy(opts);
        assert.deepEqual(
            doc.rules.map((r) => ({ priority: r.rulePriority, selection: r.selection, action: r.action })),
            [
                {
                    priority: 1,
                    selection: {
                        tagStatus: "tagged",
                        tagPatternList: ["latest"],
                        countType: "imageCountMoreThan",
                        countNumber: PROTECT_COUNT,
                    },
                    action: { type: "expire" },
                },
                {
                    priority: 2,
                    selection: {
                        tagStatus: "tagged",
                        tagPatternList: ["buildcache"],
                        countType: "imageCountMoreThan",
                        countNumber: PROTECT_COUNT,
                    },
                    action: { type: "expire" },
                },
                {
                    priority: 3,
                    selection: {
                        tagStatus: "untagged",
                        countType: "sinceImagePushed",
                        countUnit: "days",
                        countNumber: 7,
                    },
                    action: { type: "expire" },
                },
                {
                    priority: 4,
                    selection: {
                        tagStatus: "tagged",
                        tagPatternList: ["*"],
                        countType: "imageCountMoreThan",
                        countNumber: 20,
                    },
                    action: { type: "expire" },
                },
            ],
        );
    });

    it("gives unique, ascending priorities, an untagged rule with no pattern list, and a description on every rule", () => {
        const doc = lifecyclePolicy({ protectedTags: ["v", "c"], untaggedExpiryDays: 1, maxTaggedImages: 1 });
        const priorities = doc.rules.map((r) => r.rulePriority);
        assert.deepEqual(
            priorities,
            [...priorities].sort((a, b) => a - b),
        );
        assert.equal(new Set(priorities).size, priorities.length);
        const untagged = doc.rules.filter((r) => r.selection.tagStatus === "untagged");
        assert.equal(untagged.length, 1, "ECR allows only one rule that selects untagged images");
        assert.equal(untagged[0].selection.tagPatternList, undefined);
        assert.ok(doc.rules.every((r) => r.description.length > 0));
        assert.ok(!doc.rules.some((r) => r.selection.tagStatus === "any"));
    });

    it("selects each protected tag exactly (no wildcard) and round-trips through JSON unchanged", () => {
        const doc = lifecyclePolicy({
            protectedTags: ["release.1", "cache_v2"],
            untaggedExpiryDays: 3,
            maxTaggedImages: 5,
        });
        const shields = doc.rules.filter((r) => r.selection.countNumber === PROTECT_COUNT);
        assert.deepEqual(
            shields.map((r) => r.selection.tagPatternList),
            [["release.1"], ["cache_v2"]],
        );
        assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
    });

    it("refuses no protected tags, and a protected tag with '*'", () => {
        assert.throws(() => lifecyclePolicy({ ...opts, protectedTags: [] }), /at least one protected tag/);
        assert.throws(
            () => lifecyclePolicy({ ...opts, protectedTags: ["lat*"] }),
            /protected tag "lat\*" contains '\*'/,
        );
    });

    it("keeps an old image tag when more than maxTaggedImages newer tagged images exist (regression: one AND-ed pattern list)", () => {
        const doc = lifecyclePolicy({
            protectedTags: ["latest", "buildcache"],
            untaggedExpiryDays: 7,
            maxTaggedImages: 3,
        });
        const images: Image[] = [
            { id: 0, tags: ["latest"], age: 30 },
            { id: 1, tags: ["buildcache"], age: 29 },
            ...[1, 2, 3, 4, 5].map((n) => ({ id: 1 + n, tags: [`v${n}`], age: 10 - n })),
        ];
        for (const counted of [false, true]) {
            const expired = evaluate(doc, images, counted);
            assert.ok(!expired.has(0), "the image tag must never expire");
            assert.ok(!expired.has(1), "the cache tag must never expire");
        }
        // v1 and v2 are the oldest of the five others; three are kept.
        assert.deepEqual([...evaluate(doc, images, false)].sort(), [2, 3]);
    });

    describe("under ECR's evaluation semantics, for arbitrary repositories", () => {
        const tagChars = fc.constantFrom(..."abcxyz019_.-".split(""));
        const dockerTag = fc
            .array(tagChars, { minLength: 1, maxLength: 8 })
            .map((cs) => cs.join(""))
            .filter((t) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(t));
        const scenario = fc
            .record({
                imageTag: dockerTag,
                cacheTag: dockerTag,
                untaggedExpiryDays: fc.integer({ min: 1, max: 40 }),
                maxTaggedImages: fc.integer({ min: 1, max: 12 }),
                ages: fc.array(fc.double({ min: 0, max: 60, noNaN: true }), { maxLength: 30 }),
                otherTags: fc.uniqueArray(dockerTag, { maxLength: 30 }),
                owners: fc.array(fc.integer({ min: -1, max: 29 }), { minLength: 32, maxLength: 32 }),
                shieldedStillCounted: fc.boolean(),
            })
            .filter((s) => s.imageTag !== s.cacheTag)
            .map((s) => {
                // Every tag points at no image or at exactly one image, as in a registry.
                const pool = [
                    s.imageTag,
                    s.cacheTag,
                    ...s.otherTags.filter((t) => t !== s.imageTag && t !== s.cacheTag),
                ];
                const tagsOf: string[][] = s.ages.map(() => []);
                pool.forEach((tag, i) => {
                    const owner = s.owners[i % s.owners.length];
                    if (owner >= 0 && owner < s.ages.length) {
                        tagsOf[owner].push(tag);
                    }
                });
                const images: Image[] = s.ages.map((age, id) => ({ id, age, tags: tagsOf[id] }));
                return { ...s, images };
            });

        function run(s: {
            imageTag: string;
            cacheTag: string;
            untaggedExpiryDays: number;
            maxTaggedImages: number;
            images: Image[];
            shieldedStillCounted: boolean;
        }) {
            const doc = lifecyclePolicy({
                protectedTags: [s.imageTag, s.cacheTag],
                untaggedExpiryDays: s.untaggedExpiryDays,
                maxTaggedImages: s.maxTaggedImages,
            });
            return evaluate(doc, s.images, s.shieldedStillCounted);
        }

        it("never expires the image carrying the image tag or the cache tag", () => {
            fc.assert(
                fc.property(scenario, (s) => {
                    const expired = run(s);
                    for (const img of s.images) {
                        if (img.tags.includes(s.imageTag) || img.tags.includes(s.cacheTag)) {
                            assert.ok(!expired.has(img.id), `expired protected image ${JSON.stringify(img)}`);
                        }
                    }
                }),
                { numRuns: 400, interruptAfterTimeLimit: 20_000 },
            );
        });

        it("expires untagged images older than untaggedExpiryDays, and no younger untagged image", () => {
            fc.assert(
                fc.property(scenario, (s) => {
                    const expired = run(s);
                    for (const img of s.images.filter((i) => i.tags.length === 0)) {
                        if (img.age > s.untaggedExpiryDays) {
                            assert.ok(expired.has(img.id), `kept old untagged image ${JSON.stringify(img)}`);
                        } else if (img.age < s.untaggedExpiryDays) {
                            assert.ok(!expired.has(img.id), `expired young untagged image ${JSON.stringify(img)}`);
                        }
                    }
                }),
                { numRuns: 400, interruptAfterTimeLimit: 20_000 },
            );
        });

        it("leaves at most maxTaggedImages other tagged images, the newest ones", () => {
            fc.assert(
                fc.property(scenario, (s) => {
                    const expired = run(s);
                    const others = s.images.filter(
                        (i) => i.tags.length > 0 && !i.tags.includes(s.imageTag) && !i.tags.includes(s.cacheTag),
                    );
                    const kept = others.filter((i) => !expired.has(i.id));
                    assert.ok(
                        kept.length <= s.maxTaggedImages,
                        `${kept.length} other tagged images kept, max ${s.maxTaggedImages}`,
                    );
                    // Whatever is kept is never older than something expired.
                    const oldestKept = Math.max(...kept.map((i) => i.age));
                    for (const gone of others.filter((i) => expired.has(i.id))) {
                        assert.ok(
                            gone.age >= oldestKept,
                            "a newer tagged image was expired while an older one was kept",
                        );
                    }
                    if (!s.shieldedStillCounted) {
                        assert.equal(kept.length, Math.min(s.maxTaggedImages, others.length));
                    }
                }),
                { numRuns: 400, interruptAfterTimeLimit: 20_000 },
            );
        });
    });
});

describe("lifecycle policy of pull-through cached repositories (pure)", () => {
    it("has no shield rule: untagged images expire by age, then at most N tagged images are kept", () => {
        assert.deepEqual(upstreamCacheLifecyclePolicy({ untaggedExpiryDays: 3, maxTaggedImages: 5 }), {
            rules: [
                {
                    rulePriority: 1,
                    description: "Expire untagged images (superseded images and cache manifests) after 3 days.",
                    selection: {
                        tagStatus: "untagged",
                        countType: "sinceImagePushed",
                        countUnit: "days",
                        countNumber: 3,
                    },
                    action: { type: "expire" },
                },
                {
                    rulePriority: 2,
                    description: "Keep at most 5 tagged images.",
                    selection: {
                        tagStatus: "tagged",
                        tagPatternList: ["*"],
                        countType: "imageCountMoreThan",
                        countNumber: 5,
                    },
                    action: { type: "expire" },
                },
            ],
        });
    });
});

// ---- A cache per trusted branch ----

describe("lifecycle policy with branch caches (pure, issue #9)", () => {
    const opts = {
        protectedTags: ["latest", "buildcache"],
        untaggedExpiryDays: 7,
        maxTaggedImages: 3,
        expiringTagPatterns: ["latest-br-*", "buildcache-br-*"],
        expiringTagDays: 14,
    };

    it("puts one expiry rule per branch pattern right after the shields, by days since push; the rest move down", () => {
        const rules = lifecyclePolicy(opts).rules;
        assert.deepEqual(
            rules.map((r) => [
                r.rulePriority,
                r.selection.tagStatus,
                r.selection.tagPatternList,
                r.selection.countType,
            ]),
            [
                [1, "tagged", ["latest"], "imageCountMoreThan"],
                [2, "tagged", ["buildcache"], "imageCountMoreThan"],
                [3, "tagged", ["latest-br-*"], "sinceImagePushed"],
                [4, "tagged", ["buildcache-br-*"], "sinceImagePushed"],
                [5, "untagged", undefined, "sinceImagePushed"],
                [6, "tagged", ["*"], "imageCountMoreThan"],
            ],
        );
        assert.deepEqual(rules[2].selection, {
            tagStatus: "tagged",
            tagPatternList: ["latest-br-*"],
            countType: "sinceImagePushed",
            countUnit: "days",
            countNumber: 14,
        });
        // Without branch patterns, the policy is exactly today's.
        assert.deepEqual(
            lifecyclePolicy({ ...opts, expiringTagPatterns: [] }),
            lifecyclePolicy({ protectedTags: opts.protectedTags, untaggedExpiryDays: 7, maxTaggedImages: 3 }),
        );
        assert.throws(() => lifecyclePolicy({ ...opts, expiringTagDays: undefined }), /needs expiringTagDays/);
    });

    it("(ECR's evaluation, modelled) the default branch's tags never expire; a branch's expire after N days since push, not before, whatever the count", () => {
        const tag = fc.constantFrom(
            "latest",
            "buildcache",
            "latest-br-release-1.x-0123456789ab",
            "buildcache-br-release-1.x-0123456789ab",
            "buildcache-br-hotfix-ba9876543210",
            "v1",
            "other",
        );
        const image = fc.record({
            tags: fc.uniqueArray(tag, { maxLength: 2 }),
            age: fc.integer({ min: 0, max: 60 }),
        });
        fc.assert(
            fc.property(fc.array(image, { maxLength: 12 }), fc.boolean(), (imgs, counted) => {
                const images = imgs.map((i, id) => ({ ...i, id }));
                const expired = evaluate(lifecyclePolicy(opts), images, counted);
                for (const i of images) {
                    const isProtected = i.tags.some((t) => t === "latest" || t === "buildcache");
                    const isBranch = i.tags.some((t) => t.includes("-br-"));
                    if (isProtected) {
                        assert.ok(!expired.has(i.id), `protected ${JSON.stringify(i)}`);
                    } else if (isBranch) {
                        assert.equal(expired.has(i.id), i.age > 14, `branch ${JSON.stringify(i)}`);
                    }
                }
            }),
            { numRuns: 300 },
        );
    });
});
