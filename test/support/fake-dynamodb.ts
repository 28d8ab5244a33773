/**
 * A one-table DynamoDB for GetItem and UpdateItem, enough to run the single-item adapters (the write budget,
 * the webhook inbox) through a contract suite: `SET` of values and of `#a + :b`, `ADD` to a string set,
 * `REMOVE`; conditions made of `attribute_not_exists(#a)` and comparisons, joined by one AND or OR; a failed
 * condition throws ConditionalCheckFailedException with the old item when asked for it; `UPDATED_OLD` and
 * `ALL_OLD`. Requests are answered one at a time, as DynamoDB serializes writes to one item.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type GetItemCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

export class FakeTable {
  readonly items = new Map<string, Item>();

  get(input: GetItemCommandInput) {
    const item = this.items.get(input.Key?.pk?.S as string);
    return item ? { Item: structuredClone(item) } : {};
  }

  update(input: UpdateItemCommandInput) {
    const key = input.Key?.pk?.S as string;
    const old = this.items.get(key);
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const attribute = (token: string) => old?.[names[token] ?? token];
    const operand = (token: string): number | undefined => {
      const value = token.startsWith(':') ? values[token] : attribute(token);
      return value?.N === undefined ? undefined : Number(value.N);
    };
    const holds = (clause: string): boolean => {
      const notExists = /^attribute_not_exists\((#\w+)\)$/.exec(clause);
      if (notExists) return old === undefined || attribute(notExists[1] as string) === undefined;
      const [left, op, right] = clause.split(/\s+/) as [string, string, string];
      const a = operand(left);
      const b = operand(right);
      if (a === undefined || b === undefined) return false;
      return { '<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b, '=': a === b }[op] ?? false;
    };
    const condition = input.ConditionExpression;
    if (condition) {
      const ok = condition.includes(' OR ')
        ? condition.split(' OR ').some(holds)
        : condition.split(' AND ').every(holds);
      if (!ok) {
        throw new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          ...(input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old ? { Item: old } : {}),
        });
      }
    }
    const next: Item = { ...(old ?? { pk: { S: key } }) };
    // Clauses: SET a = b, c = d  ADD e :f  REMOVE g, h  (in any order).
    const clauses = (input.UpdateExpression ?? '').split(/\s+(?=SET |ADD |REMOVE )/);
    for (const clause of clauses) {
      const [verb, ...rest] = clause.trim().split(' ');
      const body = rest.join(' ');
      for (const part of body.split(', ')) {
        if (verb === 'SET') {
          const [target, expression] = part.split(' = ') as [string, string];
          const sum = /^(#\w+) \+ (:\w+)$/.exec(expression);
          next[names[target] as string] = sum
            ? { N: String((operand(sum[1] as string) ?? 0) + (operand(sum[2] as string) ?? 0)) }
            : (values[expression] as AttributeValue);
        } else if (verb === 'ADD') {
          const [target, value] = part.split(' ') as [string, string];
          const name = names[target] as string;
          const added = values[value]?.SS ?? [];
          next[name] = { SS: [...new Set([...(next[name]?.SS ?? []), ...added])] };
        } else if (verb === 'REMOVE') {
          delete next[names[part.trim()] as string];
        }
      }
    }
    this.items.set(key, next);
    if (input.ReturnValues === 'UPDATED_OLD' || input.ReturnValues === 'ALL_OLD')
      return old ? { Attributes: old } : {};
    return {};
  }
}
