/** eolab's own icon (the sidebar tab, datasets). */
import { LabIcon } from '@jupyterlab/ui-components';

const EOLAB_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
  '<circle cx="12" cy="12" r="4"/><path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 0 1 ' +
  '7.7 6h-3.2a4.6 4.6 0 0 0-9 0H4.3A8 8 0 0 1 12 4zm0 16a8 8 0 0 1-7.7-6h3.2a4.6 4.6 0 0 0 9 ' +
  '0h3.2A8 8 0 0 1 12 20z"/></g></svg>';

export const eolabIcon = new LabIcon({ name: 'eolab:logo', svgstr: EOLAB_SVG });
