/**
 * Messages for failed requests to the server's `cellserve/` API. Pure functions.
 */

/** What the server said in an error body `{"message": …, "reason": …}`, or null if it is no such JSON. */
export function serverMessage(body: string): string | null {
  try {
    const data: unknown = JSON.parse(body);
    if (typeof data === 'object' && data !== null) {
      const fields = data as Record<string, unknown>;
      for (const text of [fields.message, fields.reason]) {
        if (typeof text === 'string' && text.trim() !== '') {
          return text;
        }
      }
    }
  } catch {
    // Not JSON: an HTML error page or a proxy's text.
  }
  return null;
}

/**
 * Whether a failed answer means the API itself is missing: a 404 that is not
 * the API's own JSON error (Jupyter's page for an unknown URL).
 */
export function isMissingApi(status: number, body: string): boolean {
  return status === 404 && serverMessage(body) === null;
}

/** Why a request failed, as the panel says it. */
export function responseMessage(
  status: number,
  statusText: string,
  body: string
): string {
  if (isMissingApi(status, body)) {
    return 'the cellserve server extension is not installed or not enabled (404)';
  }
  return serverMessage(body) ?? `${status} ${statusText}`.trim();
}
