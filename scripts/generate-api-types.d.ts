/** Types of scripts/generate-api-types.js, for the test that checks the committed API types. */
export declare const API_TYPES_FILE: string;
/** The server's OpenAPI document, as GET /openapi.json answers it. */
export declare function openApiDocument(): Promise<Record<string, unknown>>;
/** The text of web/src/api/schema.d.ts for an OpenAPI document. */
export declare function apiTypesOf(document: unknown): Promise<string>;
