// `npm run api:generate`: writes the console's API types (web/src/api/schema.d.ts) from the
// server's OpenAPI document (scripts/api-types.ts). Run through tsx, which loads the sources.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { API_TYPES_FILE, apiTypesOf, openApiDocument } from './api-types.ts';

mkdirSync(dirname(API_TYPES_FILE), { recursive: true });
writeFileSync(API_TYPES_FILE, await apiTypesOf(await openApiDocument()));
console.log(`wrote ${API_TYPES_FILE}`);
