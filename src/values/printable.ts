/**
 * Client-controlled text on a person's terminal (explain, check, logs, suggest's comments):
 * control characters (but tab), invisible and bidi characters are shown as escapes, so a
 * client's bytes cannot drive the terminal or reorder what is read.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000a-\u001f\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffd]/g,
    (c) => {
      const code = c.charCodeAt(0);
      return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    },
  );
}
