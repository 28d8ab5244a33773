import type { Plugin } from 'esbuild';

export declare const schemaModule: RegExp;
export declare function inlineSchemaKeys(source: string): string;
export declare const inlineSchemaKeysPlugin: Plugin;
