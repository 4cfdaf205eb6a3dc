/**
 * The panels of the eolab sidebar. This issue registers Datasets and Search; later ones add
 * Feature Store, Experiments, Serving, Jobs and Environment with one `registerPanel` call each.
 */
import { Widget } from '@lumino/widgets';

/** What every panel is given: the current project and a way to ask for another panel. */
export interface IPanelContext {
  project(): string | null;
  showPanel(id: string, args?: Record<string, any>): void;
}

export interface IEolabPanel extends Widget {
  /** The current project changed (null: none). */
  projectChanged(project: string | null): void;
  /** Another panel asked to show this one with arguments (e.g. a dataset path). */
  reveal?(args: Record<string, any>): void;
}

export interface IPanelSpec {
  id: string;
  label: string;
  rank: number;
  create(context: IPanelContext): IEolabPanel;
}

const registry: IPanelSpec[] = [];

export function registerPanel(spec: IPanelSpec): void {
  if (registry.some(p => p.id === spec.id)) {
    throw new Error(`eolab panel ${spec.id} is registered twice`);
  }
  registry.push(spec);
  registry.sort((a, b) => a.rank - b.rank);
}

export function registeredPanels(): IPanelSpec[] {
  return [...registry];
}
