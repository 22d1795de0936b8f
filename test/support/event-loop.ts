/**
 * Watches the event loop from now on: the function returned stops watching and gives the longest
 * time it went without running a 5 ms timer, which is how long the request thread stopped at most.
 */
export function watchEventLoop(): () => number {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  return () => {
    clearInterval(timer);
    return Math.max(longest, performance.now() - last);
  };
}
