import { readFileSync } from 'node:fs';

/** Accounts as /etc/passwd lists them, for check's findings; none when the file cannot be read. */
export interface Account {
  user: string;
  uid: number;
  home: string;
  shell: string;
}

export function readAccounts(file = '/etc/passwd'): Account[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .filter((fields) => fields.length >= 7)
      .map((fields) => ({ user: fields[0]!, uid: Number(fields[2]), home: fields[5]!, shell: fields[6]! }));
  } catch {
    return [];
  }
}
