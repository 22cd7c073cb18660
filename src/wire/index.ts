/**
 * The wire layer: framing, connections, listeners, pipes and `wait`. It never imports a codec.
 * @module
 */
export { type Address, type Family, type TcpAddress, addressType, arbitraryAddress } from './addresses.js';
export { Connection, type ConnectionOptions, DEFAULT_MAX_MESSAGE_SIZE, type StreamConnectionOptions } from './connection.js';
export type { WaitOptions } from './deadline.js';
export { FrameDecoder, type FrameDecoderOptions, encodeFrame } from './frame.js';
export { type AuthOptions, type ConnectOptions, type ListenOptions, Listener, connect, listen } from './listener.js';
export { type AdoptFdOptions, Pipe, adoptFd } from './pipe.js';
export { type Waitable, wait } from './wait.js';
