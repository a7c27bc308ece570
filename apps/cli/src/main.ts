export async function main(argv: string[]): Promise<number> {
  console.log('noether', argv.join(' '));
  return 0;
}
