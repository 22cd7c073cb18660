/**
 * `startTimer`: delays beyond setTimeout's limit, `Infinity` (no timer at all), negative and NaN.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTimer } from '../src/wire/deadline.js';

describe('startTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('Infinity arms no timer (nothing keeps the event loop alive) and its cancel is a no-op', () => {
    const fn = vi.fn();
    const cancel = startTimer(Number.POSITIVE_INFINITY, fn);
    expect(vi.getTimerCount()).toBe(0); // the old code armed a 2^31-1 ms timer chain
    vi.advanceTimersByTime(2 ** 33);
    expect(fn).not.toHaveBeenCalled();
    expect(() => cancel()).not.toThrow();
  });

  it('a delay over 2^31-1 ms fires once, at its time', () => {
    const fn = vi.fn();
    startTimer(2 ** 32, fn);
    vi.advanceTimersByTime(2 ** 32 - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([-1, Number.NEGATIVE_INFINITY, Number.NaN, 0])('%s fires as soon as possible, like 0', (ms) => {
    const fn = vi.fn();
    startTimer(ms, fn);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('cancel stops a pending timer, also one in the middle of a chain', () => {
    const fn = vi.fn();
    const cancel = startTimer(2 ** 32, fn);
    vi.advanceTimersByTime(2 ** 31);
    cancel();
    vi.advanceTimersByTime(2 ** 32);
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
