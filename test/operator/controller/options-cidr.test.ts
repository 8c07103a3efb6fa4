// The operator's --service-cidr / --pod-cidr flags (compile's authoritative reverse zones).
import { expect } from 'chai';
import { OptionsError, parseOptions } from '../../../operator/controller/options.js';

describe('operator controller: cluster CIDR flags', () => {
  it('defaults to 10.96.0.0/12 and 10.244.0.0/16', () => {
    const o = parseOptions([], {});
    expect([o.serviceCIDRs, o.podCIDRs]).to.deep.equal([['10.96.0.0/12'], ['10.244.0.0/16']]);
  });
  it('takes comma-separated lists, IPv6 too, from flags or the environment', () => {
    const o = parseOptions(['--service-cidr', '10.0.0.0/16, fd00:10:96::/112'], { SPLITDNS_POD_CIDR: '10.1.0.0/16,fd00:10:244::/64' });
    expect([o.serviceCIDRs, o.podCIDRs]).to.deep.equal([['10.0.0.0/16', 'fd00:10:96::/112'], ['10.1.0.0/16', 'fd00:10:244::/64']]);
  });
  it('rejects a bad CIDR naming the flag', () => {
    expect(() => parseOptions(['--pod-cidr', '10.244.0.0/40'], {})).to.throw(OptionsError, /--pod-cidr: "10\.244\.0\.0\/40": the prefix length must be at most 32/);
  });
});
