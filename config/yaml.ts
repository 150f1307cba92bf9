/**
 * Locating things in a YAML config for error messages: how deep it nests (checked on the parser's token
 * tree, before anything recursive touches it), which key path an offset falls in, where a map key is,
 * and which alias blows up when the yaml package refuses an alias bomb. Every walk here is iterative.
 */
import {
  type Alias,
  CST,
  type Document,
  type Node as YamlNode,
  Parser,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
} from 'yaml';

export type PathSegment = string | number;

export interface Spot {
  /** Character offset in the source text. */
  offset: number;
  path: PathSegment[];
}

const keyName = (tok: CST.Token | null | undefined): string | undefined => {
  if (!tok) return undefined;
  const r = CST.resolveAsScalar(tok);
  return r ? r.value : undefined;
};

/**
 * The first collection (map or sequence, block or flow) nested more than `max` levels deep, found on the
 * concrete syntax tree: the yaml package's parser is iterative, its composer and toJS recurse.
 */
export function tooDeep(text: string, max: number): Spot | undefined {
  interface Item {
    tok: CST.Token | null | undefined;
    depth: number;
    path: PathSegment[];
  }
  const stack: Item[] = [];
  const docs: Item[] = [];
  for (const t of new Parser().parse(text))
    if (t.type === 'document') docs.push({ tok: t.value, depth: 0, path: [] });
  for (let i = docs.length - 1; i >= 0; i--) stack.push(docs[i]!);
  while (stack.length) {
    const { tok, depth, path } = stack.pop()!;
    if (!tok) continue;
    if (tok.type !== 'block-map' && tok.type !== 'block-seq' && tok.type !== 'flow-collection') continue;
    const d = depth + 1;
    if (d > max) return { offset: tok.offset, path };
    const map = tok.type === 'block-map' || (tok.type === 'flow-collection' && tok.start.source === '{');
    const children: Item[] = [];
    tok.items.forEach((it, i) => {
      const key = 'key' in it ? it.key : undefined;
      const seg = map ? (keyName(key) ?? i) : i;
      if (key) children.push({ tok: key, depth: d, path: [...path, seg] });
      children.push({ tok: it.value, depth: d, path: [...path, seg] });
    });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

const startOf = (n: unknown): number | undefined =>
  (n as { range?: [number, number, number] } | null | undefined)?.range?.[0];

const segOf = (key: unknown, i: number): PathSegment =>
  isScalar(key) ? String(key.value) : key == null ? i : String(key);

/**
 * The key path of the innermost entry that starts at or before `offset`: where a syntax error sits.
 * Depth is bounded by `tooDeep` having run first; the loop is bounded anyway.
 */
export function pathAt(doc: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (let guard = 0; guard < 10_000 && isCollection(node); guard++) {
    let next: unknown;
    let seg: PathSegment | undefined;
    node.items.forEach((item: unknown, i: number) => {
      const [k, v] = isPair(item) ? [item.key, item.value] : [undefined, item];
      const s = startOf(k) ?? startOf(v);
      if (s !== undefined && s <= offset) {
        seg = isMap(node) ? segOf(k, i) : i;
        next = v;
      }
    });
    if (seg === undefined) break;
    path.push(seg);
    const vs = startOf(next);
    if (!isCollection(next) || vs === undefined || vs > offset) break;
    node = next;
  }
  return path;
}

const deref = (doc: Document, n: unknown): unknown => (isAlias(n) ? n.resolve(doc) : n);

/** The node at `path` (as in the parsed value: aliases followed), if any. */
function nodeAt(doc: Document, path: readonly PathSegment[]): unknown {
  let node = deref(doc, doc.contents);
  for (const seg of path) {
    if (isMap(node))
      node = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))?.value;
    else if (isSeq(node) && typeof seg === 'number') node = node.items[seg];
    else return undefined;
    node = deref(doc, node);
  }
  return node;
}

/** Where the value at `path` starts (following aliases to their anchor), if found. */
export const valueOffset = (doc: Document, path: readonly PathSegment[]): number | undefined =>
  startOf(nodeAt(doc, path));

/** The offset of `key` itself inside the map at `parent` (for "unknown key" errors), if found. */
export function keyOffset(doc: Document, parent: readonly PathSegment[], key: string): number | undefined {
  const map = nodeAt(doc, parent);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return startOf(pair?.key);
}

/** The first alias (document order) for which `pick` holds, with its key path. */
export function findAlias(doc: Document, pick: (a: Alias) => boolean): Spot | undefined {
  const stack: { node: unknown; path: PathSegment[] }[] = [{ node: doc.contents, path: [] }];
  while (stack.length) {
    const { node, path } = stack.pop()!;
    if (isAlias(node)) {
      if (pick(node)) return { offset: startOf(node) ?? 0, path };
    } else if (isCollection(node)) {
      const children: { node: unknown; path: PathSegment[] }[] = [];
      (node.items as unknown[]).forEach((item, i) => {
        const p = [...path, isPair(item) ? segOf(item.key, i) : i];
        if (isPair(item)) children.push({ node: item.key, path: p }, { node: item.value, path: p });
        else children.push({ node: item, path: p });
      });
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
  return undefined;
}

/**
 * The alias with the largest expansion (first in document order): where to point when the yaml package
 * refuses a document whose aliases expand too much. Sizes are computed children first, in document order
 * (anchors come before their aliases), so alias chains never recurse.
 */
export function largestAlias(doc: Document): (Spot & { source: string; size: number }) | undefined {
  const CAP = 1e15;
  const size = new Map<unknown, number>();
  let best: (Spot & { source: string; size: number }) | undefined;
  interface Frame {
    node: unknown;
    path: PathSegment[];
    expanded: boolean;
  }
  const stack: Frame[] = [{ node: doc.contents, path: [], expanded: false }];
  while (stack.length) {
    const f = stack.pop()!;
    const n = f.node;
    if (n == null) continue;
    if (isAlias(n)) {
      const target = n.resolve(doc) as YamlNode | undefined;
      const s = (target && size.get(target)) ?? 1;
      size.set(n, s);
      if (!best || s > best.size) best = { offset: startOf(n) ?? 0, path: f.path, source: n.source, size: s };
      continue;
    }
    if (!isCollection(n)) {
      size.set(n, 1);
      continue;
    }
    const items = n.items as unknown[];
    if (!f.expanded) {
      stack.push({ ...f, expanded: true });
      const children: Frame[] = [];
      items.forEach((item, i) => {
        const p = [...f.path, isPair(item) ? segOf(item.key, i) : i];
        if (isPair(item)) {
          children.push({ node: item.key, path: p, expanded: false });
          children.push({ node: item.value, path: p, expanded: false });
        } else children.push({ node: item, path: p, expanded: false });
      });
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
      continue;
    }
    let total = 1;
    for (const item of items) {
      const parts = isPair(item) ? [item.key, item.value] : [item];
      for (const x of parts) if (x != null) total = Math.min(CAP, total + (size.get(x) ?? 1));
    }
    size.set(n, total);
  }
  return best;
}
