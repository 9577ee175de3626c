/**
 * Relative links and anchors in markdown, checked the way GitHub renders them: links parsed with markdown-it (so a
 * link inside a code block or code span is not a link), heading anchors made with github-slugger (GitHub's own
 * algorithm, `-1`, `-2` for repeated headings), plus explicit `<a id="…">` / `<a name="…">` anchors.
 * `tests/tools/docsLinks.test.ts` runs it over README.md and docs/.
 */
import * as fs from "fs";
import * as path from "path";
import type GithubSlugger from "github-slugger" with { "resolution-mode": "import" };
import MarkdownIt from "markdown-it";
import type Token from "markdown-it/lib/token.mjs" with { "resolution-mode": "import" };

const md = new MarkdownIt({ html: true });

export interface Link {
    readonly href: string;
    /** 1-based line of the link. */
    readonly line: number;
}

/** Every link and image target in `text`, with its line. */
export function linksOf(text: string): Link[] {
    const out: Link[] = [];
    const visit = (tokens: readonly Token[], line: number) => {
        let here = line;
        for (const t of tokens) {
            if (t.map) here = t.map[0] + 1;
            if (t.type === "link_open" || t.type === "image") {
                const href = t.attrGet(t.type === "image" ? "src" : "href");
                if (href !== null) out.push({ href, line: here });
            }
            if (t.children) visit(t.children, here);
            // Inside a paragraph or cell, each line break moves to the next line.
            if (t.type === "softbreak" || t.type === "hardbreak") here++;
        }
    };
    visit(md.parse(text, {}), 1);
    return out;
}

/** github-slugger is an ES module only, so it is loaded with `import()` (as bench/ loads vega). */
async function newSlugger(): Promise<GithubSlugger> {
    const { default: Slugger } = await import("github-slugger");
    return new Slugger();
}

/** The anchors a page offers: one per heading (GitHub's slugs), and each explicit `id` or `name`. */
export async function anchorsOf(text: string): Promise<Set<string>> {
    const slugger = await newSlugger();
    const anchors = new Set<string>();
    const tokens = md.parse(text, {});
    tokens.forEach((t, i) => {
        if (t.type === "heading_open") {
            const inline = tokens[i + 1];
            const plain = (inline.children ?? [])
                .filter((c) => c.type === "text" || c.type === "code_inline")
                .map((c) => c.content)
                .join("");
            anchors.add(slugger.slug(plain));
        }
    });
    for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
    return anchors;
}

/** A link that leaves the repository (a URL with a scheme), or a mail address. */
const external = (href: string) => /^[a-z][a-z0-9+.-]*:/i.test(href);

/**
 * The broken relative links of `file` (relative to `root`): a path that doesn't exist, or an anchor that the
 * target markdown page doesn't have. Each problem names the file, the line and the link.
 */
export async function brokenLinks(root: string, file: string): Promise<string[]> {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const problems: string[] = [];
    const anchorCache = new Map<string, Set<string>>();
    const anchors = async (target: string) => {
        if (!anchorCache.has(target)) anchorCache.set(target, await anchorsOf(fs.readFileSync(target, "utf8")));
        return anchorCache.get(target) as Set<string>;
    };
    for (const { href, line } of linksOf(text)) {
        if (external(href)) continue;
        const [rawPath, anchor] = href.split("#", 2) as [string, string | undefined];
        const target =
            rawPath === ""
                ? path.join(root, file)
                : path.resolve(path.dirname(path.join(root, file)), decodeURI(rawPath));
        const where = `${file}:${line}: ${href}`;
        if (!fs.existsSync(target)) {
            problems.push(`${where}: no such file or folder`);
            continue;
        }
        if (
            anchor !== undefined &&
            target.endsWith(".md") &&
            !(await anchors(target)).has(decodeURIComponent(anchor))
        ) {
            problems.push(`${where}: ${path.relative(root, target)} has no heading or anchor '${anchor}'`);
        }
    }
    return problems;
}
