// Manifests the CLI tests write: a DNSZone example.org with www A <ip>.
export const zoneManifest = (ip: string): string => `apiVersion: splitdns.io/v1alpha1
kind: DNSZone
metadata:
  name: example
spec:
  domain: example.org
  records:
    - name: www
      type: A
      a: [${ip}]
`;
