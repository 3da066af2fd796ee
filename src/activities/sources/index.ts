import type { Config } from '../../config';
import type { SourceName } from '../../sources';
import type { SourceAdapter } from './adapter';
import { chatAdapter } from './chat';
import { hubspotAdapter } from './hubspot';
import { n8nAdapter } from './n8n';
import { notionAdapter } from './notion';

export type { SourceAdapter, FetchedPage } from './adapter';

export function createSourceAdapters(config: Config): Record<SourceName, SourceAdapter> {
  return { notion: notionAdapter(config), n8n: n8nAdapter(config), hubspot: hubspotAdapter(config), chat: chatAdapter(config) };
}
