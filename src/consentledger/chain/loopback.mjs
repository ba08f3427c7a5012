// Preloaded into a node process (node --import): every listening socket binds to 127.0.0.1.
// The EthereumJS client binds its peer-to-peer sockets (TCP and UDP) to 0.0.0.0 in code, with no
// flag to change it; here a wildcard or missing address becomes the loopback address instead.
import dgram from 'node:dgram';
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const wildcard = (host) => host === undefined || host === null || host === '' || host === '0.0.0.0' || host === '::';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    if (wildcard(args[0].host) && args[0].path === undefined) args[0] = { ...args[0], host: LOOPBACK };
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string' || wildcard(args[1])) {
      const rest = typeof args[1] === 'string' || args[1] === undefined ? args.slice(2) : args.slice(1);
      args = [args[0], LOOPBACK, ...rest];
    }
  }
  return listen.apply(this, args);
};

const bind = dgram.Socket.prototype.bind;
dgram.Socket.prototype.bind = function (...args) {
  if (typeof args[0] === 'object' && args[0] !== null) {
    if (wildcard(args[0].address)) args[0] = { ...args[0], address: LOOPBACK };
  } else if (typeof args[1] !== 'string' || wildcard(args[1])) {
    const rest = typeof args[1] === 'string' || args[1] === undefined ? args.slice(2) : args.slice(1);
    args = [args[0], LOOPBACK, ...rest];
  }
  return bind.apply(this, args);
};
