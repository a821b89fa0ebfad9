import { Testing } from 'cdk8s';
import { buildApp } from '../lib/delivery/app';
import { renderManifests } from '../lib/delivery/manifest-writer';
import { K8sObject } from './k8s-rules';
import { BACKUP_CRD_NAME } from '../lib/permits/backup-api';
import { Schema } from './backup-admission';

/** The default app, synthesized in memory: file path → objects. */
export function synthDefaultApp(): Map<string, K8sObject[]> {
  return new Map(buildApp(Testing.app()).map(({ path, chart }) => [path, chart.toJson() as K8sObject[]]));
}

/** The default app rendered to text exactly as `npm run synth` writes it. */
export function renderDefaultApp(): Map<string, string> {
  return renderManifests(buildApp(Testing.app()));
}

export function allObjects(files: Map<string, K8sObject[]>): K8sObject[] {
  return [...files.values()].flat();
}

export function backupCrdOf(objects: K8sObject[]): K8sObject {
  const crd = objects.find((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === BACKUP_CRD_NAME);
  if (!crd) throw new Error('the Backup CRD was not synthesized');
  return crd;
}

export function backupSchemaOf(objects: K8sObject[]): Schema {
  return backupCrdOf(objects).spec.versions[0].schema.openAPIV3Schema;
}
