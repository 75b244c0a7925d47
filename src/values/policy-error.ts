/** A policy error names the file, line and key, and says what was expected. */
export interface PolicyError {
  file: string;
  /** 0 when the error is about the file as a whole. */
  line: number;
  key: string;
  message: string;
}

export function formatPolicyError(error: PolicyError): string {
  const at = error.line > 0 ? `${error.file}:${error.line}` : error.file;
  return `${at}: ${error.key ? `${error.key}: ` : ''}${error.message}`;
}
