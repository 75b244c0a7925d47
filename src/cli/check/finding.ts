/** A finding as check prints it: where, how bad, what, and its ID (docs/check.md). */
import type { Finding } from '../../policy/lint.js';
import type { FindingId } from '../../values/finding-id.js';
import { printable } from '../../values/printable.js';

/** A finding that is not about a rule: its text starts with where it is (FILE:LINE, or sshd). */
export interface TextFinding {
  level: 'warning' | 'unsafe' | 'error';
  id: FindingId;
  text: string;
}

/** A rule's finding as a line: FILE:LINE: UNSAFE|error|warning: message. */
export function ruleText(finding: Finding): TextFinding {
  const level = finding.level === 'unsafe' ? 'UNSAFE' : finding.level;
  return { level: finding.level, id: finding.id, text: `${finding.where.file}:${finding.where.line}: ${level}: ${finding.message}` };
}

/** The line check prints: the finding, then its ID in brackets, last, so that the text reads as before. */
export function findingLine(finding: TextFinding): string {
  return `${printable(finding.text)} [${finding.id}]`;
}
