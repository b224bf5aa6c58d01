export { planWorkflow } from './plan';
export { agentTaskWorkflow } from './agent-task';
