// Writes docs/api.md from the OpenAPI document the API serves (npm run docs:api).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderApiDocs } from '../src/api/api-docs';
import { buildOpenApiDocument } from '../src/api/openapi';

const target = join(__dirname, '..', 'docs', 'api.md');
writeFileSync(target, renderApiDocs(buildOpenApiDocument()));
console.log(`wrote ${target}`);
