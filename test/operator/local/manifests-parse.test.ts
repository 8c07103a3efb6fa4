// parseManifestFile refuses a map with a repeated key (as kubectl does), naming the repeated
// key's line and column.
import { expect } from 'chai';
import { ManifestParseError, parseManifestFile } from '../../../operator/local/manifests.js';

const fails = (text: string) => {
  try { parseManifestFile('/dev/null', text); } catch (err) { return err as ManifestParseError; }
  throw new Error('parsed');
};

describe('manifests: duplicate map keys', () => {
  it('refuses a repeated key in a block map, at the repeated key', () => {
    const e = fails('apiVersion: v1\nkind: Service\nmetadata: {name: a}\nkind: Namespace\n');
    expect(e).to.be.instanceOf(ManifestParseError);
    expect([e.message, e.line, e.column]).to.deep.equal(['cannot parse: Map keys must be unique', 4, 1]);
  });

  it('refuses one in a flow map nested in a list, in any document of the file', () => {
    const e = fails('kind: Namespace\n---\nkind: Service\nspec:\n  ports: [ {port: 1}, {port: 2, port: 3} ]\n');
    expect([e.message, e.line, e.column]).to.deep.equal(['cannot parse: Map keys must be unique', 5, 33]);
  });

  it('takes keys equal in text but not in value (1 and "1") and the same key in different maps', () => {
    expect(parseManifestFile('/dev/null', 'a: {x: 1}\nb: {x: 2}\n1: a\n"1": b\n')).to.have.length(1);
  });
});
