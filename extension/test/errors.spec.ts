import { isMissingApi, responseMessage, serverMessage } from '../src/logic/errors';

describe('serverMessage', () => {
  it('reads the message of a JSON error', () => {
    expect(
      serverMessage('{"message": "Service digits not found.", "reason": null}')
    ).toBe('Service digits not found.');
  });

  it('falls back to the reason', () => {
    expect(serverMessage('{"message": "", "reason": "Bad Request"}')).toBe(
      'Bad Request'
    );
  });

  it.each(['<html>404</html>', '', '[1]', '{"message": 3}', 'null'])(
    'finds no message in %j',
    body => {
      expect(serverMessage(body)).toBeNull();
    }
  );
});

describe('responseMessage', () => {
  it("prefers the server's words", () => {
    expect(
      responseMessage(400, 'Bad Request', '{"message": "Got \\"x\\" for name."}')
    ).toBe('Got "x" for name.');
  });

  it('says the API is missing for a 404 page', () => {
    expect(isMissingApi(404, '<html></html>')).toBe(true);
    expect(responseMessage(404, 'Not Found', '<html></html>')).toMatch(
      /server extension is not installed/
    );
  });

  it('keeps a JSON 404 as the API answer', () => {
    expect(isMissingApi(404, '{"message": "never published"}')).toBe(false);
    expect(responseMessage(404, 'Not Found', '{"message": "never published"}')).toBe(
      'never published'
    );
  });

  it('uses the status without a body', () => {
    expect(responseMessage(502, 'Bad Gateway', '')).toBe('502 Bad Gateway');
  });
});
