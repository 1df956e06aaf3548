/**
 * Props for `Table.ScrollContainer` that make its scrolling viewport a named, focusable region:
 * on a phone a wide table scrolls sideways, and a keyboard user must be able to reach it to
 * scroll it (axe-core: scrollable-region-focusable) even when the table holds no button or link.
 */
export const scrollRegion = (label: string) => ({
  scrollAreaProps: { viewportProps: { tabIndex: 0, role: 'region', 'aria-label': label } },
});
