/** Re-exported from the kernel layer, where the planner needs it too. */
export { pushAll } from '@portico/iptables';
