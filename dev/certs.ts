import net from 'node:net';
import { generate } from 'selfsigned';

/**
 * A self-signed TLS certificate (PEM) for local stand-ins, valid for the given host names and IP addresses
 * (subjectAltName entries: DNS names and IPs). Trust it with the `tlsCa` option of `createSecretClient`.
 */
export async function createSelfSignedCert(hostnames: string[]): Promise<{ cert: string; key: string }> {
  if (hostnames.length === 0) throw new Error('createSelfSignedCert needs at least one host name');
  const altNames = hostnames.map((host) => {
    const ip = host.replace(/^\[(.*)\]$/, '$1');
    return net.isIP(ip) === 0 ? { type: 2 as const, value: host } : { type: 7 as const, ip };
  });
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 7 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: hostnames[0] }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
