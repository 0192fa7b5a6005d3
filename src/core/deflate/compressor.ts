/**
 * The interface behind which compression lives: the core keeps messages in
 * order around it and enforces the limits it is given; the adapter provides
 * the implementation (RFC 7692 negotiation is in this folder's other files).
 */

/**
 * Permessage compression, defined in the core so it stays free of
 * node:zlib; the Node adapter implements it over zlib. Both directions are
 * asynchronous; the core keeps messages in order around them.
 */
export interface MessageCompressor {
  /**
   * Compress one whole message. The result must NOT include the trailing
   * 00 00 ff ff (RFC 7692 §7.2.1).
   */
  compress(data: Buffer, done: (error: Error | null, result?: Buffer) => void): void;
  /**
   * Inflate the payload of one frame of a compressed message. `isFinal` marks
   * the last frame: the implementation appends 00 00 ff ff. It must stop and
   * fail with a MessageTooLargeError as soon as the output of the current
   * message exceeds `maxBytes`, without producing the rest.
   */
  decompress(
    data: Buffer,
    isFinal: boolean,
    maxBytes: number,
    done: (error: Error | null, result?: Buffer[]) => void,
  ): void;
  /** Release zlib contexts. Called once when the connection closes. */
  close(): void;
}
