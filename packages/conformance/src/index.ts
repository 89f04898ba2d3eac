export type { Capabilities, HardwareAdapter, HardwareInstance, HardwareOptions } from "./adapter.js";
export type { ConformanceOptions, TestFunction, SuiteContext, SuiteSnapshot, GroupRegistrar } from "./harness.js";
export { CONFORMANCE_ACTION, Harness, emptySnapshot, suiteSnapshot, withHarness } from "./harness.js";
export { ConformanceAssertionError, deepEqual, equal, fail, firstDifference, ok, show, throwsCode } from "./assert.js";
export { storageTests } from "./storage.js";
export { sysfsTests } from "./sysfs.js";
export { expansionTests } from "./expansion.js";
export { iommuTests, foreignRequesterId } from "./iommu.js";
export { pasidTests } from "./pasid.js";
export { lifecycleTests } from "./lifecycle.js";
export { affinityTests } from "./affinity.js";
export { BAD_INPUT_CASES, badInputTests, type BadInputCase, type BadInputFixture } from "./bad-input.js";
export { MAX_FAULT_STEPS, failAtEveryStep, faultInjectionTests, type FailAtEveryStepOptions } from "./fault-injection.js";
export {
  DEFAULT_PROPERTY_OPERATIONS,
  DEFAULT_PROPERTY_SEED,
  OPERATIONS_PER_SEQUENCE,
  propertyTests,
  runSequence,
  sequenceArbitrary,
  type Step,
} from "./property.js";
export {
  collectConformance,
  conformanceGroups,
  runConformance,
  wrapStrategy,
  IGNORE_AFFINITY,
  type ConformanceGroupName,
  type ConformanceReport,
  type ConformanceResult,
} from "./run-conformance.js";
