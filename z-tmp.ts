import { buildOpenApiDocument } from './src/api/openapi';
const doc = buildOpenApiDocument();
require('fs').writeFileSync('/tmp/doc.json', JSON.stringify(doc, null, 2));
