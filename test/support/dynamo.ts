/** The tests' in-memory DynamoDB: the dynalite starter the benchmarks share. */
export { type LocalDynamo, startDynamo } from '../../local/aws/dynalite';
