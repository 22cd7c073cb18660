/**
 * `mpwire/managers`: use Python `multiprocessing.managers` servers (BaseManager, SyncManager) from
 * Node: shared queues, dicts, namespaces, locks… over the managers wire protocol.
 * @module
 */
export { RemoteError } from '../errors.js';
export { CONNECTS_AT_ONCE, connectManager, ManagerClient, type ManagerOptions } from './client.js';
export { managerCodec, type ManagerCodec, type ProxyHook, type Serializer } from './codec.js';
export { Channel, ChannelPool, DEFAULT_MAX_CONNECTIONS, type LateReplyHandler, type LateRequest } from './pool.js';
export {
  ERROR,
  GETVALUE,
  MANAGERS_MODULE,
  PROXY,
  RETURN,
  SERVER_METHODS,
  SYNC_MANAGER_REGISTRY,
  TRACEBACK,
  Token,
  UNSERIALIZABLE,
  errorFromException,
  errorFromTraceback,
  parseReply,
  rebuildProxyReduction,
  request,
  type ProxyReference,
  type RegistryEntry,
  type Reply,
  type ReplyKind,
  type ServerMethod,
  type TokenAddress,
} from './protocol.js';
export {
  AcquirerProxy,
  ArrayProxy,
  AsyncResultProxy,
  BarrierProxy,
  ConditionProxy,
  DEDICATED_TYPEIDS,
  DictProxy,
  EventProxy,
  IteratorProxy,
  ListProxy,
  NamespaceProxy,
  PROXY_TYPES,
  PoolProxy,
  Proxy,
  pyFunction,
  QueueProxy,
  SetProxy,
  ValueProxy,
  type AcquireOptions,
  type CallOptions,
  type ProxyClass,
  type ProxyInit,
  type PyFunction,
  type QueueWaitOptions,
} from './proxy.js';
export {
  LocalProxy,
  ManagerServer,
  formatTraceback,
  serveManager,
  type ManagerFactory,
  type ManagerTypeOptions,
  type ServeManagerOptions,
} from './server.js';
export {
  BUILTIN_FACTORIES,
  CallAborted,
  PyArray,
  PyBarrier,
  PyCondition,
  PyDict,
  PyEvent,
  PyIterator,
  PyList,
  PyLock,
  PyNamespace,
  PyQueue,
  PyRLock,
  PySemaphore,
  PySet,
  PyValue,
  QUEUE_METHODS,
  getValue,
  isServedObject,
  serveCall,
  type BuiltinFactory,
  type CallContext,
  type ServedObject,
} from './builtins.js';
export { pyCompare, pyEquals, pyError, pyKey, pyRepr, pyStr, pyTypeName } from './py-values.js';
