/**
 * What a PromQL expression queries, read with Prometheus' own grammar (@prometheus-io/lezer-promql): each
 * series selector's metric name, label names and equality values, checked against what is exported.
 */
import { parser } from '@prometheus-io/lezer-promql';

/**
 * Problems of `expr` against `exported` (metric name → label names) and `values` (label name → every value
 * it takes): syntax errors, unknown series, unknown labels, values a label never takes.
 */
export function promqlProblems(
  expr: string,
  exported: ReadonlyMap<string, readonly string[]>,
  values: Record<string, readonly string[]>,
): string[] {
  const problems: string[] = [];
  parser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.type.isError) {
        problems.push(`syntax error at ${ref.from}: ${JSON.stringify(expr.slice(ref.from, ref.from + 20))}`);
        return false;
      }
      if (ref.name !== 'VectorSelector') return undefined;
      const node = ref.node;
      const metric = node.getChild('Identifier');
      const name = metric ? expr.slice(metric.from, metric.to) : '';
      const labels = exported.get(name);
      if (!labels) {
        problems.push(`${name || expr.slice(node.from, node.to)} is not a series the operator exports`);
        return false;
      }
      for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = expr.slice(matcher.getChild('LabelName')!.from, matcher.getChild('LabelName')!.to);
        const op = matcher.getChild('MatchOp')!;
        const literal = matcher.getChild('StringLiteral')!;
        const value = JSON.parse(expr.slice(literal.from, literal.to)) as string;
        if (!labels.includes(label)) problems.push(`${name} has no label ${label} (it has ${labels.join(', ')})`);
        else if (expr.slice(op.from, op.to) === '=' && values[label] && !values[label].includes(value)) {
          problems.push(
            `${name}{${label}="${value}"}: ${label} is never "${value}" (it is one of ${values[label].join(', ')})`,
          );
        }
      }
      return false;
    },
  });
  return problems;
}
