/**
 * The cellserve icon: three notebook cells and an arrow out to a service.
 */

import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="2" y="3" width="12" height="5" rx="1"/>
    <rect x="2" y="10" width="12" height="5" rx="1"/>
    <rect x="2" y="17" width="12" height="5" rx="1"/>
    <path d="M15.5 11.5h4.2l-1.8-1.8 1.1-1.1 3.7 3.7-3.7 3.7-1.1-1.1 1.8-1.8h-4.2z"/>
  </g>
</svg>`;

export const cellserveIcon = new LabIcon({
  name: 'cellserve-jupyterlab:cellserve',
  svgstr
});
