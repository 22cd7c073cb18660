/**
 * `mpwire/bridge`: start Python workers from Node and talk to them through a real
 * `multiprocessing` Connection (no port, no file, no JSON glue), plus the interpreter discovery.
 * @module
 */
export { type FindPythonsOptions, type PythonInfo, findPythons } from './find-pythons.js';
export { type PythonChild, type PythonChildCloseOptions, type SpawnPythonOptions, childModuleDir, defaultPython, spawnPython } from './spawn-python.js';
export { type ChildExit, ChildExitError, isChildExitError } from './child-exit-error.js';
export { type CallOptions, type Handler, type Handlers, type RpcPeerOptions, RpcPeer, errorInfo, remoteErrorFrom, serve } from './rpc.js';
